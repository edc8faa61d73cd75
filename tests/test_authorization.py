"""Who may do what: artisans only touch their own products (web and API), only admins reach
/admin (the role is read from the database each time), and every form needs its CSRF token."""
import re

import pytest
from sqlalchemy import select, update

from tests.factories import ready_product
from tests.support import csrf_from, drawn_ring_jpeg, register, upload_photo
from webapp.account.tokens import create_token
from webapp.extensions import db
from webapp.models import Job, Product, User

OTHER = "other@example.com"


def other_artisan(app):
    client = app.test_client()
    token = register(client, OTHER)
    return client, token


def product_snapshot(app, product_id):
    with app.app_context():
        p = db.session.get(Product, product_id)
        return (p.status, p.title, p.description, p.tags, p.attributes, p.edited_fields, len(p.jobs),
                len(p.photos))


def test_an_artisan_cannot_read_edit_or_act_on_another_artisans_product(app, client):
    register(client, "owner@example.com")
    with app.app_context():
        pid = ready_product("owner@example.com")
        job_id = db.session.scalar(select(Job.id).where(Job.product_id == pid))
    before = product_snapshot(app, pid)
    other, token = other_artisan(app)
    headers = {"X-CSRFToken": token}

    for path in (f"/products/{pid}", f"/products/{pid}/panel", f"/jobs/{job_id}"):
        assert other.get(path).status_code == 404, path
    posts = {
        f"/products/{pid}": {"title": "Stolen", "description": "x", "tags": "x"},
        f"/products/{pid}/regenerate": {"tone": "playful", "length": "short"},
        f"/products/{pid}/submit": {},
        f"/products/{pid}/rating": {"useful": "yes"},
        f"/jobs/{job_id}/retry": {},
        f"/uploads/{job_id}/confirm": {},
        f"/uploads/{job_id}/cancel": {},
    }
    for path, data in posts.items():
        assert other.post(path, data=data, headers=headers).status_code == 404, path
    add_photo = other.post("/uploads", headers=headers, json={
        "filename": "a.jpg", "content_type": "image/jpeg", "size": 100, "product_id": pid})
    assert add_photo.status_code == 404
    assert product_snapshot(app, pid) == before
    assert "Stolen" not in client.get(f"/products/{pid}").get_data(as_text=True)


def test_an_artisan_cannot_confirm_another_artisans_upload(app, client):
    token = register(client, "owner@example.com")
    body, _ = upload_photo(client, token, drawn_ring_jpeg())
    other, other_token = other_artisan(app)
    assert other.post(body["confirm_url"], headers={"X-CSRFToken": other_token}).status_code == 404
    with app.app_context():
        assert db.session.get(Job, body["job_id"]).state == "awaiting_upload"


def test_the_api_hides_other_artisans_products_and_jobs(app, client):
    token = register(client, "owner@example.com")
    body, _ = upload_photo(client, token, drawn_ring_jpeg())
    other, _ = other_artisan(app)
    with app.app_context():
        pid = ready_product("owner@example.com")
        _, api_token = create_token(db.session.scalar(select(User).where(User.email == OTHER)), "x")
    auth = {"Authorization": f"Bearer {api_token}"}
    api = app.test_client()
    for path in (f"/api/v1/products/{pid}", f"/api/v1/jobs/{body['job_id']}"):
        response = api.get(path, headers=auth)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert api.post(f"/api/v1/uploads/{body['job_id']}/confirm", headers=auth).status_code == 404
    created = api.post("/api/v1/uploads", headers=auth, json={
        "content_type": "image/jpeg", "size": 100, "product_id": pid})
    assert created.status_code == 404
    assert api.get("/api/v1/products", headers=auth).get_json()["total"] == 0
    with app.app_context():
        assert db.session.get(Job, body["job_id"]).state == "awaiting_upload"


def admin_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def fill(rule) -> str:
    """A concrete URL for a rule: 1 for numbers, a made-up id for strings."""
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>",
                  lambda m: "1" if m.group(1) == "int" else "doesnotexist", rule.rule)


def test_every_admin_route_refuses_a_signed_in_artisan(app, client):
    token = register(client, "artisan@example.com")
    with app.app_context():
        ready_product("artisan@example.com")  # something an admin route could act on
    rules = list(admin_rules(app))
    assert len(rules) >= 8, [r.rule for r, _ in rules]
    for rule, method in rules:
        # A valid CSRF token, so the refusal comes from the role check and not from CSRF.
        response = client.open(fill(rule), method=method, headers={"X-CSRFToken": token},
                               data={"ids": "1", "reason": "x"})
        assert response.status_code == 403, (method, rule.rule, response.status_code)


def test_admin_routes_send_anonymous_visitors_to_sign_in(app, client):
    for rule, method in admin_rules(app):
        if method == "GET":
            response = client.get(fill(rule))
            assert response.status_code in (302, 401, 403), rule.rule
            assert response.status_code != 200


def test_admin_rights_are_read_from_the_database_on_every_request(app, client):
    register(client, "admin@example.com")  # ADMIN_EMAILS makes this one an admin
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        db.session.execute(update(User).where(User.email == "admin@example.com").values(is_admin=False))
        db.session.commit()
    assert client.get("/admin/").status_code == 403  # same session, role revoked


def form_post_rules(app):
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.rule.startswith(("/api/", "/local-store/")):
            yield rule


@pytest.mark.parametrize("as_admin", [False, True], ids=["artisan", "admin"])
def test_every_form_post_without_a_csrf_token_is_refused(app, client, as_admin):
    register(client, "admin@example.com" if as_admin else "artisan@example.com")
    with app.app_context():
        pid = ready_product("admin@example.com" if as_admin else "artisan@example.com",
                            status="in_review")
    before = product_snapshot(app, pid)
    rules = list(form_post_rules(app))
    assert len(rules) >= 15
    for rule in rules:
        url = re.sub(r"<int:\w+>", str(pid), rule.rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "x", url)
        response = client.post(url, data={"title": "Changed", "reason": "x", "ids": str(pid),
                                          "message": "wrong", "name": "t", "useful": "yes"})
        assert response.status_code == 400, (rule.rule, response.status_code)
    assert product_snapshot(app, pid) == before
    assert client.get("/products").status_code == 200  # still signed in: logout refused too


def test_forms_render_a_csrf_token(app, client):
    register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
    html = client.get(f"/products/{pid}").get_data(as_text=True)
    token = csrf_from(html)
    forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    assert len(forms) >= 4
    assert all('name="csrf_token"' in form for form in forms)
    assert token
