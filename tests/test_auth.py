from tests.support import csrf_from, drawn_ring_jpeg, register, upload_photo
from webapp.auth.routes import safe_next


def test_register_signs_in_and_sign_out_needs_post(client, app):
    register(client)
    assert client.get("/products").status_code == 200
    assert client.get("/logout").status_code == 405
    token = csrf_from(client.get("/products").get_data(as_text=True))
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/products").status_code == 302


def test_wrong_password_is_refused(client, app):
    register(client)
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/products").get_data(as_text=True))})
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "artisan@example.com", "password": "nope-nope",
                                           "csrf_token": token})
    assert response.status_code == 200 and b"not right" in response.data


def test_form_without_csrf_token_is_refused(client, app):
    response = client.post("/register", data={"email": "a@example.com", "password": "x" * 10,
                                              "confirm": "x" * 10})
    assert response.status_code == 400


def test_json_post_without_csrf_header_is_refused(client, app):
    register(client)
    response = client.post("/uploads", json={"filename": "a.jpg", "content_type": "image/jpeg",
                                             "size": 10})
    assert response.status_code == 400


def test_other_artisans_products_and_jobs_are_invisible(client, app):
    token = register(client, "first@example.com")
    body, _ = upload_photo(client, token, drawn_ring_jpeg())
    other = app.test_client()
    other_token = register(other, "second@example.com")
    assert other.get(body["product_url"]).status_code == 404
    assert other.get(body["status_url"]).status_code == 404
    assert other.post(body["confirm_url"], headers={"X-CSRFToken": other_token}).status_code == 404


def test_next_redirect_stays_on_this_site():
    assert safe_next("/products/3") == "/products/3"
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""):
        assert safe_next(target) is None
