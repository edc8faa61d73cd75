"""The seller's and the customer's pages in real headless Chromium: the landing page, managing
listings, phones (390x844, no sideways scroll) and axe-core on every page.

Listings are made with the factories (the worker's own path is covered by test_browser.py),
except the uploads, which go to LocalStack and the real worker.
"""
import re

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser_checks import DESKTOP, PHONE, SHOTS, check_page
from tests.test_browser import CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
