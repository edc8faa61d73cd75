"""The seller's and the customer's pages in real headless Chromium: the landing page, managing
listings, phones (390x844, no sideways scroll) and axe-core on every page.

Listings are made with the factories (the worker's own path is covered by test_browser.py),
except the uploads, which go to LocalStack and the real worker.
"""
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser_checks import DESKTOP, PHONE, check_page
from tests.support import emailed_link
from tests.test_browser import register, start_registration


def open_page(browser, base, viewport=DESKTOP):
    context = browser.new_context(base_url=base, viewport=viewport)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(f"{page.url}: {msg.text}"))
    page.set_default_timeout(30_000)
    return page


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_landing_page_tells_a_stranger_what_it_is(browser, live_server, viewport):
    page = open_page(browser, live_server, viewport)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Get a listing you can publish")
    expect(page.get_by_role("heading", name=re.compile("A listing it wrote"))).to_be_visible()
    check_page(page, f"20-landing-{'phone' if viewport is PHONE else 'desktop'}")
    page.get_by_role("link", name="Browse the catalogue").click()
    expect(page).to_have_url(re.compile(r"/catalogue/$"))
    page.goto("/")
    page.get_by_role("link", name="Create a free artisan account").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    assert page.errors == [], page.errors  # the favicon is found too


def seed(app, email, **kwargs) -> int:
    from tests.test_managing_listings import stored_product

    return stored_product(app, email, **kwargs)[0]


def test_delete_dismiss_and_bulk_edit(browser, live_server, app):
    from webapp.extensions import db
    from webapp.models import Job, Product

    page = open_page(browser, live_server)
    register(page, "maker@example.com", app)
    first, second = seed(app, "maker@example.com"), seed(app, "maker@example.com", status="approved")
    # A failed upload (the worker could not read the file) is dismissed from the products page.
    page.goto("/products/new")
    page.evaluate("""async () => {
        const csrf = document.querySelector('meta[name="csrf-token"]').content;
        await fetch('/uploads', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                    body: JSON.stringify({filename: 'notes.jpg', content_type: 'image/jpeg', size: 10})});
    }""")
    with app.app_context():
        job = db.session.scalar(db.select(Job).where(Job.state == "awaiting_upload"))
        job.state, job.error = "failed", "This file is not a photo we can read."
        db.session.commit()
    page.goto("/products")
    expect(page.locator(".product-tile")).to_have_count(3)
    check_page(page, "21-products-with-failed-upload")
    page.get_by_role("button", name=re.compile("Dismiss the failed upload notes.jpg")).click()
    expect(page.locator(".product-tile")).to_have_count(2)
    expect(page.get_by_text("This file is not a photo we can read.")).to_have_count(0)

    # Bulk edit: metal set on both, as the artisan's fact.
    page.get_by_label(re.compile(r"Select Gold ring")).first.check()
    page.get_by_label(re.compile(r"Select Gold ring")).nth(1).check()
    page.get_by_text("Set values on all selected").click()
    page.get_by_label("Metal").select_option("platinum")
    page.get_by_label("Price").fill("120")
    page.get_by_label("Currency (e.g. EUR)").fill("EUR")
    check_page(page, "22-products-bulk-edit")
    page.get_by_role("button", name="Save values").click()
    expect(page.get_by_text("2 listings updated.")).to_be_visible()
    with app.app_context():
        assert {db.session.get(Product, pid).metal for pid in (first, second)} == {"platinum"}
        assert {str(db.session.get(Product, pid).price) for pid in (first, second)} == {"120.00"}
    page.goto(f"/products/{first}")
    expect(page.locator("tr[data-attribute=metal]")).to_contain_text("set by you")
    check_page(page, "23-product-with-facts")

    # Delete the published one (it was unpublished by the edit; delete works either way).
    page.goto(f"/products/{second}")
    page.get_by_text("Delete…").click()  # a second step: nothing is deleted by one stray click
    page.get_by_role("button", name="Delete with its photos").click()
    expect(page).to_have_url(re.compile(r"/products$"))
    expect(page.get_by_text("was deleted, with its photos.")).to_be_visible()
    expect(page.locator(".product-tile")).to_have_count(1)
    assert page.errors == [], page.errors


def user_id(app, email):
    from tests.factories import user_id as lookup

    with app.app_context():
        return lookup(email)


def every_page(app) -> list[tuple[str, str, str]]:
    """(name, who, path) for every page a person sees, with data to show on each."""
    from webapp.label_mappings import set_mapping

    pid = seed(app, "maker@example.com", status="in_review")
    published = seed(app, "maker@example.com", status="approved")
    with app.app_context():
        set_mapping("category", "pendientes", "earrings")
    return [("landing", None, "/"), ("login", None, "/login"), ("register", None, "/register"),
            ("catalogue", None, "/catalogue/"), ("catalogue-detail", None, f"/catalogue/{published}"),
            ("not-found", None, "/catalogue/999999"), ("search", None, "/catalogue/?q=gold+ring"),
            ("shop", None, f"/catalogue/shop/{user_id(app, 'maker@example.com')}"),
            ("products", "maker", "/products"), ("new-listing", "maker", "/products/new"),
            ("product", "maker", f"/products/{pid}"), ("settings", "maker", "/account/"),
            ("queue", "admin", "/admin/"), ("review", "admin", f"/admin/products/{pid}"),
            ("audit", "admin", "/admin/audit"), ("dashboard", "admin", "/admin/dashboard"),
            ("ops", "admin", "/admin/ops"), ("exports", "admin", "/admin/exports"),
            ("labels", "admin", "/admin/labels")]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_fits_a_phone_and_passes_axe(browser, live_server, app, viewport):
    people = {}
    for who in ("maker", "admin"):
        people[who] = open_page(browser, live_server, viewport)
        register(people[who], f"{who}@example.com", app)
    people[None] = open_page(browser, live_server, viewport)
    size = "phone" if viewport is PHONE else "desktop"
    failures = []
    newcomer = people["newcomer"] = open_page(browser, live_server, viewport)
    start_registration(newcomer, f"newcomer-{size}@example.com")
    try:  # the pages between registering and the first sign-in
        check_page(newcomer, f"30-{size}-check-email")
        newcomer.goto(emailed_link(app, f"newcomer-{size}@example.com", "/verify/"))
        check_page(newcomer, f"30-{size}-verify")
    except AssertionError as exc:
        failures.append(str(exc))
    for name, who, path in every_page(app):
        page = people[who]
        page.goto(path)
        try:
            check_page(page, f"30-{size}-{name}")
        except AssertionError as exc:
            failures.append(str(exc))
        if name == "not-found":  # the browser logs the 404 itself, as it should
            page.errors = [e for e in page.errors if "404 (NOT FOUND)" not in e]
    assert failures == [], "\n".join(failures)
    for page in people.values():
        assert page.errors == [], page.errors


def test_public_page_json_ld_parses_in_the_browser(browser, live_server, app):
    import json

    maker = open_page(browser, live_server)
    register(maker, "maker@example.com", app)
    maker.goto("/account/")
    maker.get_by_label(re.compile("Shop name")).fill("Hammer & Flame")
    maker.get_by_role("button", name="Save shop name").click()
    expect(maker.get_by_text("Shop name saved.")).to_be_visible()
    pid = seed(app, "maker@example.com", status="approved")
    page = open_page(browser, live_server, PHONE)
    page.goto(f"/catalogue/{pid}")
    data = json.loads(page.locator('script[type="application/ld+json"]').text_content())
    assert data["@type"] == "Product" and data["brand"]["name"] == "Hammer & Flame"
    assert data["name"] == page.get_by_role("heading", level=1).text_content()
    expect(page.locator('meta[property="og:title"]')).to_have_attribute("content", data["name"])
    page.get_by_role("link", name="Hammer & Flame").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hammer & Flame")
    check_page(page, "24-shop-page-phone")
    assert page.errors == [] and maker.errors == [], page.errors + maker.errors


def noise_png(side: int) -> bytes:
    """A PNG of random pixels: it does not compress, so it is about 3 bytes a pixel."""
    import io
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG", compress_level=0)
    return out.getvalue()


def open_chooser_by_keyboard(page):
    """Enter on the focused drop zone opens the file chooser. On a loaded machine the first press
    has been seen to go unanswered (the suite only, never alone), so a second press is allowed,
    still from the keyboard; two misses fail the test."""
    for attempt in range(2):
        try:
            with page.expect_file_chooser(timeout=15_000) as chooser:
                page.keyboard.press("Enter")
            return chooser.value
        except PlaywrightTimeout:
            if attempt:
                raise
            page.locator(".dropzone").focus()
    raise AssertionError("unreachable")


def test_keyboard_upload_of_a_heic_and_an_oversized_photo_with_facts_set_first(
        browser, live_server, app, worker):
    from tests.support import drawn_ring_heic
    from tests.test_browser import WORKER_WAIT_MS

    limit = 2 * 1024 * 1024
    big = noise_png(1000)
    assert len(big) > limit
    saved_limit, app.config["UPLOAD_MAX_BYTES"] = app.config["UPLOAD_MAX_BYTES"], limit
    try:
        page = open_page(browser, live_server, PHONE)
        register(page, "maker@example.com", app)
        page.goto("/products/new")
        page.get_by_label("Category").select_option("bracelet")
        page.get_by_label("Metal").select_option("silver")
        check_page(page, "25-new-listing-facts-phone")
        # Keyboard only: Tab from the last select reaches the drop zone; Enter opens the file chooser.
        page.get_by_label("Colour").focus()
        for _ in range(4):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.classList.contains('dropzone')"):
                break
        assert page.evaluate("() => document.activeElement.classList.contains('dropzone')")
        chooser = open_chooser_by_keyboard(page)
        chooser.set_files([
            {"name": "IMG_0001.HEIC", "mimeType": "image/heic", "buffer": drawn_ring_heic()},
            {"name": "huge.png", "mimeType": "image/png", "buffer": big},
        ])
        rows = page.locator(".upload-item")
        expect(rows).to_have_count(2)
        for i in range(2):
            expect(rows.nth(i)).to_have_attribute("data-state", "ready", timeout=WORKER_WAIT_MS)
        resized = int(rows.nth(1).get_attribute("data-resized"))
        assert resized <= limit < len(big)
        check_page(page, "26-uploads-heic-and-resized-phone")
        heic_url = rows.nth(0).get_by_role("link", name="Open listing").get_attribute("href")
    finally:
        app.config["UPLOAD_MAX_BYTES"] = saved_limit

    page.goto(heic_url)
    expect(page.locator("#job-state")).to_have_text("Listing ready")
    expect(page.locator(".gallery img").first).to_be_visible()  # the HEIC, converted to JPEG
    assert page.locator(".gallery img").first.evaluate("img => img.naturalWidth") > 0
    expect(page.locator("#attr_category")).to_have_value("bracelet")
    expect(page.locator("tr[data-attribute=category]")).to_contain_text("set by you")
    expect(page.locator("tr[data-attribute=metal]")).to_contain_text("set by you")
    check_page(page, "27-heic-listing-with-facts-phone")
    # Keyboard only: submit, then an admin approves with the keyboard.
    page.get_by_role("button", name="Submit for review").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Sent for review.")).to_be_visible()
    admin = open_page(browser, live_server, PHONE)
    register(admin, "admin@example.com", app)
    admin.goto("/admin/")
    admin.locator("table.queue a").first.focus()
    admin.keyboard.press("Enter")
    expect(admin.get_by_role("button", name="Approve as it is")).to_be_visible()
    check_page(admin, "28-review-phone")
    admin.get_by_role("button", name="Approve as it is").focus()
    admin.keyboard.press("Enter")
    expect(admin.get_by_text("Published")).to_be_visible()
    assert page.errors == [] and admin.errors == [], page.errors + admin.errors
