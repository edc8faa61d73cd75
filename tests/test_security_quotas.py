"""Quotas per account across all its credentials, one regeneration per product held by the
database, and uploaded objects no row points to removed once their form has expired."""
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.factories import ready_product
from tests.support import drawn_ring_jpeg, isolated_app, post_to_storage, register, upload_photo, wait_for_job
from webapp.account.tokens import create_token
from webapp.extensions import db
from webapp.listings.reruns import request_regeneration
from webapp.listings.workflow import WorkflowError
from webapp.models import Job, Photo, Product, User
from webapp.storage import get_store

UPLOAD = {"filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}


@pytest.fixture
def quota_app(request, app, service_env):
    with isolated_app(service_env, request.param) as web:
        yield web


def token_for(web, email):
    with web.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        return {"Authorization": f"Bearer {create_token(user, 'quota')[1]}"}


@pytest.mark.parametrize("quota_app", [{"QUOTA_UPLOADS_PER_HOUR": 3}], indirect=True)
def test_the_upload_quota_counts_every_credential_of_the_account(quota_app):
    client = quota_app.test_client()
    csrf = register(client, "quota@example.com")
    first, second = token_for(quota_app, "quota@example.com"), token_for(quota_app, "quota@example.com")
    assert client.post("/uploads", headers={"X-CSRFToken": csrf}, json=UPLOAD).status_code == 201
    assert client.post("/api/v1/uploads", headers=first, json=UPLOAD).status_code == 201
    assert client.post("/api/v1/uploads", headers=second, json=UPLOAD).status_code == 201
    refused = quota_app.test_client().post("/api/v1/uploads", headers=second, json=UPLOAD)
    assert refused.status_code == 422 and "3 uploads in the last hour" in refused.get_json()["error"]["message"]
    on_the_web = client.post("/uploads", headers={"X-CSRFToken": csrf}, json=UPLOAD)
    assert on_the_web.status_code == 400 and "try again later" in on_the_web.get_json()["error"]
    other = quota_app.test_client()
    other_csrf = register(other, "other-quota@example.com")  # someone else's quota is their own
    assert other.post("/uploads", headers={"X-CSRFToken": other_csrf}, json=UPLOAD).status_code == 201


@pytest.mark.parametrize("quota_app", [{"QUOTA_PRODUCTS": 2}], indirect=True)
def test_the_product_quota_refuses_a_new_product_but_not_a_photo_for_one(quota_app):
    client = quota_app.test_client()
    csrf = register(client, "products@example.com")
    made = [client.post("/uploads", headers={"X-CSRFToken": csrf}, json=UPLOAD) for _ in range(2)]
    assert [r.status_code for r in made] == [201, 201]
    refused = client.post("/uploads", headers={"X-CSRFToken": csrf}, json=UPLOAD)
    assert refused.status_code == 400 and "2 products" in refused.get_json()["error"]
    product_id = made[0].get_json()["product_url"].rsplit("/", 1)[1]
    assert client.post("/uploads", headers={"X-CSRFToken": csrf},
                       json={**UPLOAD, "product_id": product_id}).status_code == 201


@pytest.mark.parametrize("quota_app", [{"QUOTA_BYTES": 150_000}], indirect=True)
def test_the_storage_quota_counts_the_bytes_already_stored(quota_app):
    client = quota_app.test_client()
    csrf = register(client, "bytes@example.com")
    photo = drawn_ring_jpeg()
    body, stored = upload_photo(client, csrf, photo)
    assert stored.status_code in (200, 201, 204)
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": csrf}).status_code == 202
    with quota_app.app_context():
        held = db.session.scalar(select(func.sum(Photo.size_bytes)))
    assert held == len(photo)
    refused = client.post("/uploads", headers={"X-CSRFToken": csrf},
                          json={**UPLOAD, "size": 150_000 - held + 1})
    assert refused.status_code == 400 and "MB an account may store" in refused.get_json()["error"]
    assert client.post("/uploads", headers={"X-CSRFToken": csrf},
                       json={**UPLOAD, "size": 150_000 - held}).status_code == 201


@pytest.mark.parametrize("quota_app", [{"QUOTA_REGENERATIONS_PER_HOUR": 2}], indirect=True)
def test_the_regeneration_quota_counts_across_products(quota_app):
    register(quota_app.test_client(), "regen@example.com")
    with quota_app.app_context():
        products = [ready_product("regen@example.com") for _ in range(3)]
        for product_id in products[:2]:
            job = request_regeneration(db.session.get(Job, db.session.scalar(
                select(Job.id).where(Job.product_id == product_id))).product, "playful", "short")
            db.session.execute(update(Job).where(Job.id == job.id).values(state="ready"))
            db.session.commit()
        third = db.session.scalar(select(Job).where(Job.product_id == products[2])).product
        with pytest.raises(WorkflowError, match="2 new versions in the last hour"):
            request_regeneration(third, "playful", "short")


def at_once(n, request):
    """`request()` from n threads released together (real parallel requests to MariaDB); their statuses."""
    start, statuses = threading.Barrier(n), []

    def one():
        start.wait()
        statuses.append(request())
    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


@pytest.mark.parametrize("quota_app, allowed", [({"QUOTA_UPLOADS_PER_HOUR": 3}, 3), ({"QUOTA_PRODUCTS": 2}, 2)],
                         indirect=["quota_app"], ids=["uploads-per-hour", "products"])
def test_parallel_uploads_at_the_edge_of_a_quota_get_no_further(quota_app, allowed):
    register(quota_app.test_client(), "edge@example.com")
    headers = token_for(quota_app, "edge@example.com")
    statuses = at_once(12, lambda: quota_app.test_client().post(
        "/api/v1/uploads", headers=headers, json=UPLOAD).status_code)
    assert statuses == [201] * allowed + [422] * (12 - allowed)
    with quota_app.app_context():
        owner = db.session.scalar(select(User.id).where(User.email == "edge@example.com"))
        assert db.session.scalar(select(func.count(Job.id)).join(Product).where(Product.owner_id == owner)) == allowed


@pytest.mark.parametrize("quota_app", [{"QUOTA_REGENERATIONS_PER_HOUR": 2, "CELERY_QUEUE": "regen-quota-unread"}],
                         indirect=True)
def test_parallel_regenerations_at_the_edge_of_the_quota_get_no_further(quota_app):
    register(quota_app.test_client(), "edge-regen@example.com")
    headers = token_for(quota_app, "edge-regen@example.com")
    with quota_app.app_context():
        products = iter([ready_product("edge-regen@example.com") for _ in range(8)])  # one request each
    lock = threading.Lock()

    def ask():
        with lock:
            product_id = next(products)
        return quota_app.test_client().post(f"/api/v1/products/{product_id}/regenerate", headers=headers,
                                            json={"tone": "playful", "length": "short"}).status_code
    statuses = at_once(8, ask)
    assert statuses.count(202) == 2 and len(statuses) == 8
    with quota_app.app_context():
        assert db.session.scalar(select(func.count(Job.id)).where(Job.kind == "regenerate")) == 2


def test_the_database_holds_one_regeneration_per_product(app, client):
    register(client, "unique@example.com")
    with app.app_context():
        product_id = ready_product("unique@example.com")
        photo_id = db.session.scalar(select(Photo.id).where(Photo.product_id == product_id))
        db.session.add(Job(product_id=product_id, photo_id=photo_id, kind="regenerate", state="queued"))
        db.session.commit()
        db.session.add(Job(product_id=product_id, photo_id=photo_id, kind="regenerate", state="queued"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        # Once the first has run, the next may queue.
        db.session.execute(update(Job).where(Job.product_id == product_id, Job.kind == "regenerate")
                           .values(state="ready"))
        db.session.add(Job(product_id=product_id, photo_id=photo_id, kind="regenerate", state="queued"))
        db.session.commit()


@pytest.mark.parametrize("quota_app", [{"CELERY_QUEUE": "regeneration-race-unread"}], indirect=True)
def test_simultaneous_regeneration_requests_make_one_job(app, client, quota_app):
    # A queue no worker reads: the session's worker, if running, would finish the first job
    # mid-test, and a second request after that may rightly queue.
    register(client, "race@example.com")
    headers = token_for(app, "race@example.com")
    with app.app_context():
        product_id = ready_product("race@example.com")
    start = threading.Barrier(12)
    statuses = []

    def ask():
        caller = quota_app.test_client()
        start.wait()
        statuses.append(caller.post(f"/api/v1/products/{product_id}/regenerate", headers=headers,
                                    json={"tone": "playful", "length": "short"}).status_code)
    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [202] + [409] * 11
    with app.app_context():
        assert db.session.scalar(select(func.count(Job.id)).where(
            Job.product_id == product_id, Job.kind == "regenerate")) == 1


def test_an_upload_form_replayed_after_its_job_is_done_is_deleted_at_the_next_sweep(app, client, worker):
    from workers.orphans import sweep_orphan_uploads

    csrf = register(client, "replay@example.com")
    photo = drawn_ring_jpeg()
    body, _ = upload_photo(client, csrf, photo)
    client.post(body["confirm_url"], headers={"X-CSRFToken": csrf})
    assert wait_for_job(client, body["status_url"])["state"] == "ready"
    original = body["upload"]["fields"]["key"]
    with app.app_context():
        kept = db.session.scalars(select(Photo.object_key)).all() + \
            db.session.scalars(select(Photo.thumbnail_key)).all()
        assert original not in kept and get_store().head(original) is None  # replaced by its clean copy
        copies = {key: get_store().read(key) for key in kept}
    replay = post_to_storage(client, body["upload"], b"\xff\xd8" + b"x" * 50_000, "r.jpg", "image/jpeg")
    assert replay.status_code in (200, 201, 204)  # S3 cannot make a presigned POST single-use
    with app.app_context():
        store = get_store()
        assert store.head(original) is not None
        assert sweep_orphan_uploads() >= 1  # at once, its form still valid: its job is done
        assert store.head(original) is None
        assert {key: store.read(key) for key in kept} == copies  # the photo's copies untouched


@pytest.mark.parametrize("quota_app", [{"CELERY_QUEUE": "replay-before-processing-unread"}], indirect=True)
def test_an_upload_form_replayed_between_confirm_and_processing_cannot_swap_the_photo(app, quota_app, worker):
    """The confirmed key is the form's key until the worker has run: a replay there would
    have the worker describe (and keep) bytes the artisan never confirmed."""
    from webapp import job_lifecycle

    client = quota_app.test_client()  # confirms onto a queue no worker reads: the job waits
    csrf = register(client, "swap@example.com")
    body, _ = upload_photo(client, csrf, drawn_ring_jpeg(320))
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": csrf}).status_code == 202
    replay = post_to_storage(client, body["upload"], drawn_ring_jpeg(400), "r.jpg", "image/jpeg")
    assert replay.status_code in (200, 201, 204)  # LocalStack, as S3: the object is overwritten
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        job_lifecycle.send_job(job)  # now to the session's worker
    state = wait_for_job(client, body["status_url"])
    assert state["state"] == "failed" and "sent again after it was confirmed" in state["error"], state
    with app.app_context():
        photo = db.session.get(Job, body["job_id"]).photo
        assert photo.width is None and photo.thumbnail_key is None  # nothing of the replay was kept
        assert get_store().head(body["upload"]["fields"]["key"]) is None


def sweep_once_forms_expired(app):
    """Run the orphan sweep as it runs once every upload form has expired (a 1 s form life)."""
    from workers.orphans import sweep_orphan_uploads

    app.config.update(UPLOAD_URL_TTL=1, REAPER_UPLOAD_GRACE=0)
    try:
        time.sleep(2.1)
        sweep_orphan_uploads()
    finally:
        app.config.update(UPLOAD_URL_TTL=600, REAPER_UPLOAD_GRACE=300)


def test_an_unprocessed_original_no_row_points_to_waits_until_its_form_has_expired(app):
    from workers.orphans import sweep_orphan_uploads

    key = f"media/uploads/1/{uuid.uuid4().hex}.jpg"  # its row may still be on its way
    with app.app_context():
        store = get_store()
        store.write(key, b"\xff\xd8 bytes", "image/jpeg")
        sweep_orphan_uploads()
        assert store.head(key) is not None  # its form may still be valid
        sweep_once_forms_expired(app)
        assert store.head(key) is None


def test_the_sweep_keeps_every_object_a_photo_points_to_thumbnails_of_duplicates_too(app, client):
    """A duplicated listing's copies used to get keys shaped like uploads (`<32 hex>.jpg`), its
    thumbnail's too, and the sweep deleted that thumbnail once old: copies now take the worker's
    shapes, and a thumbnail reference still counts for the copies made before."""
    from tests.test_managing_listings import stored_product
    from workers.orphans import ORIGINAL

    token = register(client, "dup@example.com")
    pid, _ = stored_product(app, "dup@example.com")
    copy_id = int(client.post(f"/products/{pid}/duplicate", data={"csrf_token": token})
                  .headers["Location"].rsplit("/", 1)[1])
    legacy_id, _ = stored_product(app, "dup@example.com")
    with app.app_context():
        kept = [k for p in db.session.get(Product, copy_id).photos for k in (p.object_key, p.thumbnail_key)]
        assert not [key for key in kept if ORIGINAL.fullmatch(key.removeprefix("media/"))]
        legacy = db.session.get(Product, legacy_id).photos[0]
        legacy.thumbnail_key = f"media/uploads/{legacy.product.owner_id}/{uuid.uuid4().hex}.jpg"
        db.session.commit()
        get_store().write(legacy.thumbnail_key, drawn_ring_jpeg(64), "image/jpeg")
        kept.append(legacy.thumbnail_key)
        sweep_once_forms_expired(app)
        assert [key for key in kept if get_store().head(key) is None] == []


def test_a_store_read_pinned_to_an_etag_refuses_other_bytes(app, tmp_path):
    """Both stores: S3 (LocalStack) by If-Match, the local folder by the same MD5 ETag."""
    from webapp.storage.errors import ObjectChanged
    from webapp.storage.local import LocalStore

    with app.app_context():
        stores = [get_store(), LocalStore(tmp_path, "k")]
    for store in stores:
        key = f"media/uploads/1/{uuid.uuid4().hex}.jpg"
        store.write(key, b"first bytes", "image/jpeg")
        etag = store.head(key)["etag"]
        assert store.read(key, if_match=etag) == b"first bytes"
        store.write(key, b"other bytes", "image/jpeg")
        with pytest.raises(ObjectChanged):
            store.read(key, if_match=etag)
        store.delete(key)


def test_the_local_store_lists_its_objects_for_the_sweep(tmp_path):
    from webapp.storage.local import LocalStore

    store = LocalStore(tmp_path, "k" * 64)
    store.write("uploads/1/" + "a" * 32 + ".jpg", b"x", "image/jpeg")
    store.write("other/2.jpg", b"y", "image/jpeg")
    listed = dict(store.list_keys("uploads/"))
    assert list(listed) == ["uploads/1/" + "a" * 32 + ".jpg"]  # no .type side files, no other prefix
    assert abs(time.time() - next(iter(listed.values())).timestamp()) < 60
