"""Bad numbers and JSON never reach the database or the parser as a 500; reports are limited
and count against training only once an admin confirms them; private pages are not cached."""
import json
import uuid

import pytest
from sqlalchemy import func, select

from tests.factories import ready_product
from tests.support import csrf_from, drawn_ring_jpeg, isolated_app, register
from webapp.account.tokens import create_token
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport
from webapp.models import Product, User, utcnow
from webapp.storage import get_store

HUGE = 10**23


def api_headers(app, email):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return {"Authorization": f"Bearer {create_token(user, 'inputs')[1]}"}


def test_huge_numbers_in_paths_and_queries_answer_404_or_400(app, client):
    csrf = register(client)
    headers = api_headers(app, "artisan@example.com")
    for url in (f"/catalogue/?page={HUGE}", f"/catalogue/{HUGE}", f"/products/{HUGE}",
                f"/products/{2**31}", f"/catalogue/shop/{HUGE}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/api/v1/products/{HUGE}", f"/api/v1/products/{2**31}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404 and response.get_json()["error"]["status"] == 404, url
    assert client.get(f"/api/v1/products?page={HUGE}", headers=headers).status_code == 422
    body = {"filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}
    for product_id in (HUGE, -1, 2**31, "1e5"):
        web = client.post("/uploads", headers={"X-CSRFToken": csrf}, json={**body, "product_id": product_id})
        assert web.status_code == 400, product_id
        api = client.post("/api/v1/uploads", headers=headers, json={**body, "product_id": product_id})
        assert api.status_code == 422, product_id
    assert client.get(f"/catalogue/?page={2**40}").status_code == 404
    assert client.get("/catalogue/?page=2").status_code == 200


def test_deeply_nested_json_is_refused_as_malformed(app, client):
    csrf = register(client)
    headers = api_headers(app, "artisan@example.com")
    deep = "[" * 100_000 + "]" * 100_000
    web = client.post("/uploads", headers={"X-CSRFToken": csrf, "Content-Type": "application/json"}, data=deep)
    assert web.status_code == 400
    api = client.post("/api/v1/uploads", headers={**headers, "Content-Type": "application/json"}, data=deep)
    assert api.status_code == 400 and api.get_json()["error"]["status"] == 400
    # Brackets inside strings are text, not depth; ordinary nesting still parses.
    fine = {"filename": "[" * 200 + ".jpg", "content_type": "image/jpeg", "size": 1000,
            "note": [[[{"a": [1]}]]]}
    assert client.post("/api/v1/uploads", headers=headers, data=json.dumps(fine),
                       content_type="application/json").status_code == 201


# --- reports -------------------------------------------------------------------------------

def publish(app, product_id):
    with app.app_context():
        db.session.get(Product, product_id).status = "approved"
        db.session.commit()


def send_report(web, product_id, address, message="The metal is wrong."):
    customer = web.test_client()
    customer.environ_base["REMOTE_ADDR"] = address
    token = csrf_from(customer.get(f"/catalogue/{product_id}").get_data(as_text=True))
    return customer.post(f"/catalogue/{product_id}/report", data={"csrf_token": token, "message": message})


def test_one_report_per_visitor_per_listing_and_few_per_visitor(app, service_env):
    with isolated_app(service_env, {"RATELIMIT_ENABLED": True, "RATELIMIT_REPORT": "3 per hour"}) as web:
        register(web.test_client(), "reported@example.com")
        with web.app_context():
            listings = [ready_product("reported@example.com") for _ in range(4)]
        for pid in listings:
            publish(web, pid)
        visitor = "10.9.{}.{}".format(*uuid.uuid4().bytes[:2])
        assert send_report(web, listings[0], visitor).status_code == 302
        again = send_report(web, listings[0], visitor)
        assert again.status_code == 302
        with web.app_context():
            assert db.session.scalar(select(func.count(InaccuracyReport.id))) == 1
        assert send_report(web, listings[1], visitor).status_code == 302
        assert send_report(web, listings[2], visitor).status_code == 429  # three tries an hour
        assert send_report(web, listings[0], "10.8.0.1").status_code == 302  # someone else may
        with web.app_context():
            assert db.session.scalar(select(func.count(InaccuracyReport.id))) == 3


def test_only_a_report_an_admin_confirmed_keeps_a_listing_out_of_training(app, client):
    from webapp.training_tables import TrainingItem
    from workers.training.feedback import sync_feedback

    register(client, "admin@example.com")
    with app.app_context():
        pid = ready_product("admin@example.com", status="approved")
        product = db.session.get(Product, pid)
        get_store().write(product.photos[0].object_key, drawn_ring_jpeg(), "image/jpeg")
        db.session.add(InaccuracyReport(product_id=pid, message="Spam from a stranger."))
        db.session.commit()
        sync_feedback(get_store(), app.config)
        assert db.session.scalar(select(TrainingItem.active)) is True  # an unconfirmed report: no effect
        report_id = db.session.scalar(select(InaccuracyReport.id))
    token = csrf_from(client.get(f"/admin/products/{pid}").get_data(as_text=True))
    assert client.post(f"/admin/reports/{report_id}/confirm", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(InaccuracyReport, report_id).confirmed_at is not None
        sync_feedback(get_store(), app.config)
        assert db.session.scalar(select(TrainingItem.active)) is False
        db.session.get(InaccuracyReport, report_id).resolved_at = utcnow()
        db.session.commit()
        sync_feedback(get_store(), app.config)
        assert db.session.scalar(select(TrainingItem.active)) is True


# --- caching --------------------------------------------------------------------------------

def test_signed_in_pages_and_api_answers_are_not_cached(app, client):
    assert "no-store" not in client.get("/catalogue/").headers.get("Cache-Control", "")
    register(client)
    for url in ("/products", "/account/", "/products/new", "/catalogue/"):
        assert client.get(url).headers["Cache-Control"] == "private, no-store", url
    headers = api_headers(app, "artisan@example.com")
    assert client.get("/api/v1/products", headers=headers).headers["Cache-Control"] == "private, no-store"
    created = client.post("/account/tokens", data={
        "name": "script", "csrf_token": csrf_from(client.get("/account/").get_data(as_text=True))})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "private, no-store"


@pytest.fixture
def local_app(tmp_path):
    from tests.ops_support import embedded_config

    with isolated_app({}, embedded_config(tmp_path)) as web:
        with web.app_context():
            db.create_all()
        yield web


def test_local_store_photos_are_private_and_other_types_are_downloads(local_app):
    with local_app.test_request_context():
        store = get_store()
        store.write("uploads/1/photo.jpg", drawn_ring_jpeg(), "image/jpeg")
        store.write("uploads/1/page.html", b"<script>alert(1)</script>", "text/html")
        photo_url, page_url = store.url("uploads/1/photo.jpg"), store.url("uploads/1/page.html")
    client = local_app.test_client()
    photo = client.get(photo_url)
    assert photo.status_code == 200 and photo.headers["Cache-Control"] == "private, no-store"
    page = client.get(page_url)
    assert page.headers["Content-Disposition"].startswith("attachment")
