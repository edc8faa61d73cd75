"""The whole path on real services: S3-compatible upload, MySQL rows, a real Celery worker."""
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.models import GeneratedListing, Job, Photo, Product
from webapp.storage import get_store

ATTRIBUTES = ("category", "metal", "gemstone", "style", "colour")


def test_photo_becomes_a_generated_listing(app, client, worker):
    token = register(client)
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert stored.status_code == 204, stored.text
    confirmed = client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert confirmed.status_code == 202
    # Queued when answered; a worker may already have claimed it (the answer reads the row).
    assert confirmed.get_json()["state"] in ("queued", "processing", "ready")

    done = wait_for_job(client, body["status_url"])

    assert done["state"] == "ready", done
    listing = done["listing"]
    assert set(ATTRIBUTES) <= set(listing["attributes"])
    for attr in listing["attributes"].values():
        assert 0.0 <= attr["confidence"] <= 1.0 and attr["value"]
    assert 0 < len(listing["title"]) <= 80
    assert len(listing["description"].split()) >= 5
    assert listing["tags"]
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        assert job.state == "ready" and job.finished_at is not None
        row = db.session.scalar(select(GeneratedListing).where(GeneratedListing.job_id == job.id))
        assert row.description == listing["description"]
        assert job.product.title == listing["title"]  # the artisan's editable copy
        thumb = get_store().read(job.photo.thumbnail_key)
        assert Image.open(io.BytesIO(thumb)).format == "JPEG"
    page = client.get(body["product_url"]).get_data(as_text=True)
    assert "Listing ready" in page and listing["title"] in page


def _truncated_jpeg():
    data = drawn_ring_jpeg()
    return data[: len(data) // 2]


@pytest.mark.parametrize("data, reason", [
    (b"hello, I am a text file pretending to be a photo\n" * 4, "not a JPEG, PNG, WebP or HEIC"),
    (_truncated_jpeg(), "damaged or incomplete"),
], ids=["text-named-jpg", "truncated-jpeg"])
def test_unusable_file_fails_with_reason_and_leaves_nothing(app, client, worker, data, reason):
    token = register(client)
    body, stored = upload_photo(client, token, data)
    assert stored.status_code == 204
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})

    done = wait_for_job(client, body["status_url"])

    assert done["state"] == "failed"
    assert reason in done["error"]
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        assert get_store().head(job.photo.object_key) is None  # the object is gone
        assert job.photo.thumbnail_key is None
        assert db.session.scalar(select(func.count()).select_from(GeneratedListing)) == 0
    assert reason in client.get(body["product_url"]).get_data(as_text=True)


@pytest.mark.parametrize("size, message", [(0, "empty"), (50 * 1024 * 1024, "at most")])
def test_empty_or_oversize_upload_is_refused_before_anything_is_stored(app, client, size, message):
    token = register(client)
    response = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "x.jpg", "content_type": "image/jpeg", "size": size})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def test_storage_refuses_a_file_larger_than_declared_and_cancel_cleans_up(app, client):
    app.config["UPLOAD_MAX_BYTES"] = 1000
    try:
        token = register(client)
        body, stored = upload_photo(client, token, drawn_ring_jpeg(), declared_size=900)
    finally:
        app.config["UPLOAD_MAX_BYTES"] = 15 * 1024 * 1024
    assert stored.status_code == 400  # the signed policy itself refuses it
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 400
    assert client.post(body["cancel_url"], headers={"X-CSRFToken": token}).status_code == 204
    with app.app_context():
        for model in (Product, Photo, Job):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_wrong_content_type_is_refused(client, app):
    token = register(client)
    response = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "x.svg", "content_type": "image/svg+xml", "size": 100})
    assert response.status_code == 400
    assert "JPEG, PNG, WebP or HEIC" in response.get_json()["error"]
