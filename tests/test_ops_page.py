"""The operations page: admins only; shows a failed job with its reason and re-queues it."""
import re

from sqlalchemy import select

from tests.factories import user_id
from tests.ops_support import wait_for_heartbeat
from tests.support import csrf_from, drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.models import Job
from webapp.storage import get_store


def test_operations_page_is_for_admins_only(app, client):
    assert client.get("/admin/ops").status_code == 302  # to the sign-in page
    register(client)
    assert client.get("/admin/ops").status_code == 403
    assert "Operations" not in client.get("/products").get_data(as_text=True)

    admin = app.test_client()
    register(admin, email="admin@example.com")
    assert admin.get("/admin/ops").status_code == 200
    assert 'href="/admin/ops"' in admin.get("/products").get_data(as_text=True)


def test_operations_page_shows_a_failed_job_and_requeues_it(app, client, worker, model_dir):
    token = register(client)
    body, _ = upload_photo(client, token, b"this is not a photo at all\n" * 8)
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    failed = wait_for_job(client, body["status_url"])
    assert failed["state"] == "failed"
    job_id = body["job_id"]

    admin = app.test_client()
    register(admin, email="admin@example.com")
    assert wait_for_heartbeat(app) == 1
    saved_model_dir, app.config["MODEL_DIR"] = app.config["MODEL_DIR"], str(model_dir)
    try:
        page = admin.get("/admin/ops").get_data(as_text=True)
    finally:
        app.config["MODEL_DIR"] = saved_model_dir
    assert job_id in page and failed["error"] in page
    assert re.search(r'id="failed-last-hour">1<', page)
    assert re.search(r'id="workers-alive">1 alive<', page)
    assert 'id="model-version"' in page
    requeue_url = f"/admin/ops/jobs/{job_id}/requeue"
    assert admin.post(requeue_url).status_code == 400  # no CSRF token

    # The worker deleted the unusable file, so a re-queue is refused with a reason.
    refused = admin.post(requeue_url, data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert "no longer in storage" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Job, job_id).state == "failed"
        # Storage has the confirmed photo under the key again (as after an outage is over): a
        # good one here, recorded as the bytes confirmed, since the worker reads no others.
        photo = db.session.get(Job, job_id).photo
        get_store().write(photo.object_key, drawn_ring_jpeg(), "image/jpeg")
        photo.upload_etag = get_store().head(photo.object_key)["etag"]
        db.session.commit()

    requeued = admin.post(requeue_url, data={"csrf_token": csrf_from(page)}, follow_redirects=True)
    assert f"Job {job_id} is queued again." in requeued.get_data(as_text=True)
    done = wait_for_job(client, body["status_url"])
    assert done["state"] == "ready" and done["error"] is None
    with app.app_context():
        assert db.session.get(Job, job_id).attempts == 2
        # Every state change of the job is in the audit log (webapp/job_lifecycle.py), the
        # re-queue under the admin who asked for it.
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.job_id == job_id)
                                    .order_by(AuditEvent.id)).all()
        assert [e.action for e in events] == [
            "job.awaiting_upload", "job.queued", "job.processing", "job.failed",
            "job.queued", "job.processing", "job.ready"]
        requeue_event = events[4]
        assert requeue_event.actor_id == user_id("admin@example.com")
        assert requeue_event.changes == {"state": ["failed", "queued"], "error": [failed["error"], None]}
        assert {e.actor_id for e in events[2:4] + events[5:]} == {None}  # the worker

    page = admin.get("/admin/ops").get_data(as_text=True)
    assert job_id not in page
    assert re.search(r'id="ready-last-hour">1<', page)
