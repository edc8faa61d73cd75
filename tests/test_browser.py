"""The main path in real headless Chromium, against the app on a real server, LocalStack S3
(the browser uploads straight to it) and a real Celery worker.

An artisan uploads two photos and watches them finish, edits one, regenerates it (the
page updates itself and keeps the edit) and submits both; an admin approves one and
rejects the other; the public catalogue shows only the approved one. Screenshots of each
page go to test-artifacts/browser/.
"""
import re

from playwright.sync_api import expect

from tests.browser_checks import SHOTS
from tests.support import drawn_ring_jpeg, emailed_link

WORKER_WAIT_MS = 180_000  # the first job loads the models


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def new_page(browser, base):
    context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    # Console errors include content-security-policy refusals and failed loads.
    page.on("console", lambda msg: msg.type == "error" and "favicon" not in msg.location.get("url", "")
            and page.errors.append(f"{page.url}: {msg.text} ({msg.location.get('url')})"))
    page.set_default_timeout(30_000)
    return page


def start_registration(page, email):
    """Fill in and send the registration form; the browser is left on "check your email"."""
    page.goto("/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email to finish")).to_be_visible()


def register(page, email, app):
    """Register in the browser, then follow the link emailed to the address (which also makes an
    ADMIN_EMAILS address an admin), as a person does."""
    start_registration(page, email)
    page.goto(emailed_link(app, email, "/verify/"))
    page.get_by_label("The password you chose").fill("correct horse battery")
    page.get_by_role("button", name="Confirm my address and sign in").click()
    expect(page).to_have_url(re.compile(r"/products$"))


def test_upload_edit_review_publish(app, browser, live_server, worker):
    artisan = new_page(browser, live_server)
    register(artisan, "maker@example.com", app)
    shot(artisan, "01-artisan-products-empty")

    # Two photos at once, each straight to S3 with its own progress bar, then followed live.
    artisan.goto("/products/new")
    artisan.get_by_label("Photos").set_input_files([
        {"name": "ring-one.jpg", "mimeType": "image/jpeg", "buffer": drawn_ring_jpeg(320)},
        {"name": "ring-two.jpg", "mimeType": "image/jpeg", "buffer": drawn_ring_jpeg(360)},
    ])
    rows = artisan.locator(".upload-item")
    expect(rows).to_have_count(2)
    shot(artisan, "02-uploading")
    for i in range(2):
        expect(rows.nth(i)).to_have_attribute("data-state", "ready", timeout=WORKER_WAIT_MS)
    shot(artisan, "03-uploads-finished")
    first_url = rows.nth(0).get_by_role("link", name="Open listing").get_attribute("href")
    second_url = rows.nth(1).get_by_role("link", name="Open listing").get_attribute("href")

    # Edit the first listing: the title becomes the artisan's own.
    artisan.goto(first_url)
    expect(artisan.locator("#job-state")).to_have_text("Listing ready")
    expect(artisan.locator(".gallery img").first).to_be_visible()
    artisan.get_by_label("Title", exact=True).fill("Hand-forged ring, my own words")
    artisan.get_by_role("button", name="Save changes").click()
    expect(artisan.get_by_text("Saved.")).to_be_visible()
    expect(artisan.locator("label[for=title] .badge-mine")).to_have_text("edited by you")
    shot(artisan, "04-product-edited")

    # Regenerate in another tone: the page follows the job without reloading, and keeps the edit.
    artisan.evaluate("""() => {
        window.__samePage = true;
        window.__states = [];
        new MutationObserver(() => {
            const line = document.getElementById("job-state");
            if (line) window.__states.push(line.dataset.state);
        }).observe(document.getElementById("product-panel"), {subtree: true, childList: true, attributes: true});
    }""")
    artisan.get_by_label("Tone", exact=True).select_option("playful")
    artisan.get_by_role("button", name="Regenerate").click()
    # The panel is swapped in place and shows the new job while the worker runs ...
    artisan.wait_for_function("() => window.__states.some(s => s === 'queued' || s === 'processing')")
    expect(artisan.locator("#job-state")).not_to_have_attribute("data-state", "ready")
    # ... and again when it is done, without a reload.
    expect(artisan.locator("#job-state")).to_have_text("Listing ready", timeout=WORKER_WAIT_MS)
    expect(artisan.locator("#title")).to_have_value("Hand-forged ring, my own words")
    assert artisan.evaluate("() => window.__samePage") is True  # no full reload happened
    states = artisan.evaluate("() => window.__states")
    assert states[-1] == "ready", states
    expect(artisan.get_by_label("Tone", exact=True)).to_have_value("playful")
    shot(artisan, "05-product-regenerated")

    # Rate the text (htmx swaps the rating box in place), then submit for review.
    artisan.get_by_label("Useful", exact=True).check()
    artisan.get_by_label("Comment (optional)").fill("Good start, the metal was wrong.")
    artisan.get_by_role("button", name="Send rating").click()
    expect(artisan.locator("#rating")).to_contain_text("Thank you")
    artisan.get_by_role("button", name="Submit for review").click()
    expect(artisan.get_by_text("Sent for review.")).to_be_visible()
    artisan.goto(second_url)
    expect(artisan.locator("#job-state")).to_have_text("Listing ready")
    second_title = artisan.get_by_label("Title", exact=True).input_value()
    artisan.get_by_role("button", name="Submit for review").click()
    expect(artisan.get_by_text("Sent for review.")).to_be_visible()
    artisan.goto("/products")
    expect(artisan.locator(".badge-in_review")).to_have_count(2)
    shot(artisan, "06-artisan-products-in-review")

    # The admin approves the edited one and rejects the other with a reason.
    admin = new_page(browser, live_server)
    register(admin, "admin@example.com", app)  # the emailed link proves the address: an admin
    admin.get_by_role("link", name="Review", exact=True).click()
    expect(admin.locator("table.queue tbody tr")).to_have_count(2)
    shot(admin, "07-admin-queue")
    admin.get_by_role("link", name="Hand-forged ring, my own words").click()
    shot(admin, "08-admin-review")
    admin.get_by_role("button", name="Approve as it is").click()
    expect(admin.get_by_text("Published")).to_be_visible()
    admin.get_by_role("link", name=second_title, exact=True).click()
    admin.get_by_label("Reason the artisan will see").fill("Please photograph it on a plain background.")
    admin.get_by_role("button", name="Reject").click()
    expect(admin.get_by_text("the artisan sees your reason")).to_be_visible()
    admin.get_by_role("link", name="Audit log").click()
    expect(admin.locator("table.audit")).to_contain_text("product.approve")
    expect(admin.locator("table.audit")).to_contain_text("product.reject")
    shot(admin, "09-admin-audit-log")
    admin.get_by_role("link", name="Dashboard").click()
    expect(admin.locator("#approved-unedited")).to_have_text("0%")  # the approved one was edited
    shot(admin, "10-admin-dashboard")

    # The customer sees only the approved piece.
    customer = new_page(browser, live_server)
    customer.goto("/catalogue/")
    tiles = customer.locator(".product-grid .product-tile")
    expect(tiles).to_have_count(1)
    expect(tiles.first).to_contain_text("Hand-forged ring, my own words")
    expect(customer.get_by_text(second_title, exact=True)).to_have_count(0)
    shot(customer, "11-catalogue")
    tiles.first.get_by_role("link").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Hand-forged ring, my own words")
    customer.get_by_label("What is not right?").fill("The stone looks pink, not red.")
    customer.get_by_role("button", name="Send report").click()
    expect(customer.get_by_text("A person on our team will look")).to_be_visible()
    shot(customer, "12-catalogue-detail-reported")

    # The artisan reads the reason on the rejected one.
    artisan.goto(second_url)
    expect(artisan.get_by_role("alert")).to_contain_text("plain background")
    shot(artisan, "13-artisan-rejected")
    for page in (artisan, admin, customer):
        assert page.errors == [], page.errors
