"""The public catalogue shows approved listings only, with filters and a report form."""
from sqlalchemy import select, update

from tests.factories import RESULT, ready_product
from tests.support import csrf_from, register
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport
from webapp.models import Product


def listing(title, category, metal):
    attributes = {**RESULT["attributes"], "category": {"value": category, "confidence": 0.9},
                  "metal": {"value": metal, "confidence": 0.9}}
    return dict(RESULT, title=title, attributes=attributes)


def publish(app, *pids):
    with app.app_context():
        db.session.execute(update(Product).where(Product.id.in_(pids)).values(status="approved"))
        db.session.commit()


def test_only_approved_listings_are_shown_and_filters_work(app, client):
    register(client)
    with app.app_context():
        ring = ready_product("artisan@example.com", listing("Silver ring", "ring", "silver"))
        necklace = ready_product("artisan@example.com", listing("Gold necklace", "necklace", "gold"))
        ready_product("artisan@example.com", listing("Draft brooch", "brooch", "gold"))
        ready_product("artisan@example.com", listing("Waiting bracelet", "bracelet", "gold"),
                      status="in_review")
    publish(app, ring, necklace)
    public = app.test_client()
    html = public.get("/catalogue/").get_data(as_text=True)
    assert "Silver ring" in html and "Gold necklace" in html
    assert "Draft brooch" not in html and "Waiting bracelet" not in html
    rings = public.get("/catalogue/?category=ring").get_data(as_text=True)
    assert "Silver ring" in rings and "Gold necklace" not in rings
    gold = public.get("/catalogue/?metal=gold").get_data(as_text=True)
    assert "Gold necklace" in gold and "Silver ring" not in gold
    assert public.get(f"/catalogue/{ring}").status_code == 200
    with app.app_context():
        draft_id = db.session.scalar(select(Product.id).where(Product.title == "Draft brooch"))
    assert public.get(f"/catalogue/{draft_id}").status_code == 404
    assert public.post(f"/catalogue/{draft_id}/report").status_code in (400, 404)


def test_detail_page_shows_the_listing_and_thumbnails_with_alt_text(app, client):
    register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
    publish(app, pid)
    html = app.test_client().get(f"/catalogue/{pid}").get_data(as_text=True)
    assert "<h1>Gold ring with a ruby</h1>" in html
    assert 'alt="Gold ring with a ruby, photo 1 of 1"' in html
    # The photo row's key is the worker's clean copy (re-encoded, no metadata) once processed.
    with app.app_context():
        photo = db.session.get(Product, pid).photos[0]
        assert photo.object_key.rsplit("/", 1)[1] in html
    assert '<label for="message">' in html


def test_a_report_needs_a_message_and_a_csrf_token(app, client):
    register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
    publish(app, pid)
    customer = app.test_client()
    token = csrf_from(customer.get(f"/catalogue/{pid}").get_data(as_text=True))
    assert customer.post(f"/catalogue/{pid}/report", data={"message": "Wrong metal."}).status_code == 400
    assert customer.post(f"/catalogue/{pid}/report", data={"csrf_token": token, "message": ""}).status_code == 400
    assert customer.post(f"/catalogue/{pid}/report", data={
        "csrf_token": token, "message": "Wrong metal.", "email": "me@example.com"}).status_code == 302
    with app.app_context():
        report = db.session.scalar(select(InaccuracyReport))
        assert (report.product_id, report.message, report.email) == (pid, "Wrong metal.", "me@example.com")
