"""Regenerating from the page, in real headless Chromium against a real server and worker.

The artisan corrects category and metal and regenerates: the new text says them. Then
they type in the description and click Regenerate without saving: the typing is kept.
Screenshots go to test-artifacts/browser/.
"""
import re

from playwright.sync_api import expect

from tests.support import drawn_ring_jpeg
from tests.test_browser import WORKER_WAIT_MS, new_page, register, shot


def regenerate_and_wait(page):
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#job-state")).not_to_have_attribute("data-state", "ready")
    expect(page.locator("#job-state")).to_have_text("Listing ready", timeout=WORKER_WAIT_MS)
    # the state line says ready first; then the page swaps in the new panel, which polls no more
    page.wait_for_function("() => !document.querySelector('#job-state').dataset.statusUrl")
    expect(page.get_by_role("button", name=re.compile("Show the new version"))).to_have_count(0)


def test_corrections_reach_the_new_text_and_typing_survives_regenerate(app, browser, live_server, worker):
    page = new_page(browser, live_server)
    register(page, "facts@example.com", app)
    page.goto("/products/new")
    page.get_by_label("Photos").set_input_files([{"name": "ring.jpg", "mimeType": "image/jpeg",
                                                  "buffer": drawn_ring_jpeg(320)}])
    row = page.locator(".upload-item").first
    expect(row).to_have_attribute("data-state", "ready", timeout=WORKER_WAIT_MS)
    page.goto(row.get_by_role("link", name="Open listing").get_attribute("href"))
    expect(page.locator("#job-state")).to_have_text("Listing ready")

    old_category = page.locator("#attr_category").input_value()
    old_metal = page.locator("#attr_metal").input_value()
    category = "earrings" if old_category != "earrings" else "bracelet"
    metal = "platinum" if old_metal != "platinum" else "silver"
    page.locator("#attr_category").select_option(category)
    page.locator("#attr_metal").select_option(metal)
    page.get_by_label("Materials, in your words").fill("recycled 950 platinum")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    shot(page, "21-corrected-category-and-metal")

    regenerate_and_wait(page)
    text = page.locator("#description").input_value()
    words = f" {page.locator('#title').input_value()} {text} ".lower()
    assert category in words and metal in words, words
    assert f" {old_category} " not in words and f" {old_metal} " not in words, words
    assert "recycled 950 platinum" in text  # the seller's words, as written
    expect(page.locator("#tags")).to_contain_text(f"{metal} {category}")
    shot(page, "22-regenerated-with-corrections")

    typed = "My own words: a sculpted pair I made for my sister, polished by hand."
    page.locator("#description").fill(typed)
    shot(page, "23-typed-not-saved")
    regenerate_and_wait(page)
    expect(page.locator("#description")).to_have_value(typed)
    expect(page.locator("label[for=description] .badge-mine")).to_have_text("edited by you")
    assert re.search(r"\w", page.locator("#title").input_value())
    shot(page, "24-typing-kept-after-regenerate")
    assert page.errors == [], page.errors
