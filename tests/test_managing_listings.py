"""Managing listings: delete (photos removed from storage, audited, unpublished first), dismiss a
failed upload, archive, duplicate, facts set before upload, bulk edit and bulk submit."""
from sqlalchemy import func, select

from tests.factories import RESULT, ready_product, user_id
from tests.support import drawn_ring_jpeg, register
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.listings.merge import apply_generated
from webapp.models import GeneratedListing, Job, Photo, Product
from webapp.storage import get_store


def stored_product(app, email, status="draft") -> tuple[int, list[str]]:
    """A ready product whose photo and thumbnail really are in storage (LocalStack S3)."""
    with app.app_context():
        pid = ready_product(email, status=status)
        product = db.session.get(Product, pid)
        keys = [k for p in product.photos for k in (p.object_key, p.thumbnail_key)]
        for key in keys:
            get_store().write(key, drawn_ring_jpeg(64), "image/jpeg")
        return pid, keys


def actions(app, pid) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(AuditEvent.product_id == pid)
                                       .order_by(AuditEvent.id)))


def test_deleting_a_published_listing_unpublishes_it_then_removes_photos_and_rows(app, client):
    token = register(client, "maker@example.com")
    pid, keys = stored_product(app, "maker@example.com", status="approved")
    assert client.get(f"/catalogue/{pid}").status_code == 200
    response = client.post(f"/products/{pid}/delete", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/products")
    with app.app_context():
        assert db.session.get(Product, pid) is None
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 0
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0
        assert db.session.scalar(select(func.count()).select_from(GeneratedListing)) == 0
        assert all(get_store().head(key) is None for key in keys)
    assert actions(app, pid)[-2:] == ["product.unpublish", "product.delete"]
    assert client.get(f"/catalogue/{pid}").status_code == 404


def test_a_listing_being_written_is_not_deleted(app, client):
    token = register(client, "maker@example.com")
    pid, keys = stored_product(app, "maker@example.com")
    with app.app_context():
        db.session.get(Product, pid).jobs[0].state = "processing"
        db.session.commit()
    client.post(f"/products/{pid}/delete", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Product, pid) is not None
        assert all(get_store().head(key) is not None for key in keys)


def test_no_one_deletes_another_artisans_listing(app, client):
    register(client, "maker@example.com")
    pid, _ = stored_product(app, "maker@example.com")
    other = app.test_client()
    token = register(other, "other@example.com")
    assert other.post(f"/products/{pid}/delete", data={"csrf_token": token}).status_code == 404
    other.post("/products/bulk", data={"csrf_token": token, "ids": [str(pid)], "action": "delete"})
    with app.app_context():
        assert db.session.get(Product, pid) is not None


def test_a_failed_upload_is_dismissed_from_the_products_page(app, client):
    token = register(client, "maker@example.com")
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "notes.jpg", "content_type": "image/jpeg", "size": 10}).get_json()
    with app.app_context():
        job = db.session.get(Job, created["job_id"])
        job.state, job.error = "failed", "This file is not a photo we can read."
        db.session.commit()
        pid = job.product_id
    page = client.get("/products").get_data(as_text=True)
    assert "This file is not a photo we can read." in page and "Dismiss" in page
    client.post(f"/products/{pid}/delete", data={"csrf_token": token})
    assert "Untitled draft" not in client.get("/products").get_data(as_text=True)
    assert actions(app, pid)[-1] == "product.delete"


def test_archive_takes_a_listing_off_the_catalogue_and_back(app, client):
    token = register(client, "maker@example.com")
    pid, keys = stored_product(app, "maker@example.com", status="approved")
    client.post(f"/products/{pid}/archive", data={"csrf_token": token})
    assert client.get(f"/catalogue/{pid}").status_code == 404
    assert "Archived" in client.get("/products").get_data(as_text=True)
    client.post(f"/products/{pid}/archive", data={"csrf_token": token, "undo": "1"})
    with app.app_context():
        assert db.session.get(Product, pid).status == "draft"
        assert all(get_store().head(key) is not None for key in keys)  # archiving keeps the photos
    assert actions(app, pid)[-3:] == ["product.unpublish", "product.archive", "product.unarchive"]


def test_duplicate_copies_text_and_photos_and_can_be_submitted(app, client):
    token = register(client, "maker@example.com")
    pid, keys = stored_product(app, "maker@example.com")
    response = client.post(f"/products/{pid}/duplicate", data={"csrf_token": token})
    copy_id = int(response.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        copy = db.session.get(Product, copy_id)
        assert copy.title == f"{RESULT['title']} (copy)" and copy.status == "draft"
        assert copy.attributes == db.session.get(Product, pid).attributes
        copy_keys = [k for p in copy.photos for k in (p.object_key, p.thumbnail_key)]
        assert len(copy_keys) == 2 and not set(copy_keys) & set(keys)
        assert all(get_store().head(key) is not None for key in copy_keys)
    client.post(f"/products/{pid}/delete", data={"csrf_token": token})  # the copy keeps its photos
    client.post(f"/products/{copy_id}/submit", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Product, copy_id).status == "in_review"
        assert all(get_store().head(key) is not None for key in copy_keys)


def test_facts_set_before_upload_are_kept_when_the_listing_is_written(app, client):
    token = register(client, "maker@example.com")
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "ring.jpg", "content_type": "image/jpeg", "size": 1000,
        "attributes": {"category": "bracelet", "metal": "silver", "style": ""}})
    assert created.status_code == 201, created.get_json()
    with app.app_context():
        job = db.session.get(Job, created.get_json()["job_id"])
        product = job.product
        assert product.attributes["category"]["source"] == "artisan"
        apply_generated(job, RESULT)  # the model says ring and gold
        db.session.commit()
        product = db.session.get(Product, job.product_id)
        assert product.attributes["category"]["value"] == "bracelet"
        assert product.attributes["metal"]["value"] == "silver"
        assert product.attributes["gemstone"]["value"] == "ruby"  # not known: the model's
        assert product.category == "bracelet"


def test_an_unknown_fact_is_refused_and_nothing_is_left_behind(app, client):
    token = register(client, "maker@example.com")
    response = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "ring.jpg", "content_type": "image/jpeg", "size": 1000,
        "attributes": {"category": "spaceship"}})
    assert response.status_code == 400 and "spaceship" in response.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_bulk_edit_sets_facts_on_the_selection_only(app, client):
    token = register(client, "maker@example.com")
    with app.app_context():
        first, second, third = (ready_product("maker@example.com") for _ in range(3))
    response = client.post("/products/bulk", data={"csrf_token": token, "ids": [str(first), str(second)],
                                                   "action": "edit", "set_metal": "platinum", "set_style": ""})
    assert response.status_code == 302
    with app.app_context():
        metals = {p.id: (p.metal, p.attributes["metal"].get("source")) for p in db.session.scalars(select(Product))}
        assert metals[first] == metals[second] == ("platinum", "artisan")
        assert metals[third] == ("gold", "model")  # the shared contract: a model value says so
    assert "product.bulk_edit" in actions(app, first)
    page = client.get(f"/products/{first}").get_data(as_text=True)
    assert "set by you" in page


def test_bulk_submit_reports_each_listing_it_could_not_send(app, client):
    token = register(client, "maker@example.com")
    with app.app_context():
        ready = ready_product("maker@example.com")
        untitled = ready_product("maker@example.com", result={**RESULT, "title": ""})
        assert user_id("maker@example.com")
    client.post("/products/bulk", data={"csrf_token": token, "ids": [str(ready), str(untitled)],
                                        "action": "submit"})
    with app.app_context():
        assert db.session.get(Product, ready).status == "in_review"
        assert db.session.get(Product, untitled).status == "draft"
    page = client.get("/products").get_data(as_text=True)
    assert "1 listing sent for review." in page and f"Draft #{untitled}" in page


def test_bulk_edit_sets_a_price_on_the_selection_and_refuses_a_bad_one(app, client):
    token = register(client, "maker@example.com")
    with app.app_context():
        first, second = (ready_product("maker@example.com") for _ in range(2))
    client.post("/products/bulk", data={"csrf_token": token, "ids": [str(first)], "action": "edit",
                                        "set_price": "49,90", "set_currency": "eur"})
    with app.app_context():
        product = db.session.get(Product, first)
        assert (str(product.price), product.currency) == ("49.90", "EUR")
        assert db.session.get(Product, second).price is None
    client.post("/products/bulk", data={"csrf_token": token, "ids": [str(second)], "action": "edit",
                                        "set_price": "49.90"})  # no currency
    page = client.get("/products").get_data(as_text=True)
    assert "Give a price and its currency together" in page
    with app.app_context():
        assert db.session.get(Product, second).price is None
