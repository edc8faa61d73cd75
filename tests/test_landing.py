"""The landing page at / for strangers, the favicon, and the audit log's readable values."""
from tests.factories import ready_product
from tests.support import register


def test_stranger_gets_the_landing_page_with_sign_up_and_the_catalogue(client):
    html = client.get("/").get_data(as_text=True)
    assert "Photograph a piece. Get a listing you can publish." in html
    assert 'href="/register"' in html and 'href="/catalogue/"' in html
    assert "(example)" in html  # nothing is published yet: the fixed example is shown
    assert "Set-Cookie" not in client.get("/").headers  # no session for a page that posts nothing


def test_landing_example_is_the_latest_published_listing(app, client):
    register(client, "maker@example.com")
    with app.app_context():
        pid = ready_product("maker@example.com", status="approved")
    html = app.test_client().get("/").get_data(as_text=True)
    assert "Gold ring with a ruby" in html and f'href="/catalogue/{pid}"' in html
    assert "(example)" not in html


def test_signed_in_artisan_goes_to_their_products(client):
    register(client, "maker@example.com")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")


def test_favicon_exists(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    icon = client.get(response.headers["Location"])
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data


def test_audit_log_shows_ampersands_as_they_are(app, client):
    register(client, "admin@example.com")
    with app.app_context():
        from tests.factories import user_id
        from webapp.extensions import db
        from webapp.models import Product

        owner = ready_product("admin@example.com")
        product = db.session.get(Product, owner)
        product.title = "Rings & things"
        db.session.commit()
        assert user_id("admin@example.com")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "Rings &amp; things" in html and "\\u0026" not in html
