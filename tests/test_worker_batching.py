"""Micro-batching on the real worker: one task takes the waiting jobs with it, each job ends once."""
import uuid

from sqlalchemy import func, select

from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.models import GeneratedListing, Job, utcnow


def test_queued_jobs_are_processed_in_one_batch_and_each_ends_exactly_once(app, client, worker):
    token = register(client)
    uploads = []
    for i in range(6):
        data = b"not a photo at all\n" * 8 if i == 3 else drawn_ring_jpeg(256 + 16 * i)
        body, stored = upload_photo(client, token, data)
        assert stored.status_code == 204
        uploads.append(body)
    with app.app_context():
        # All queued before any message goes out, so the first task finds the others waiting.
        jobs = [db.session.get(Job, body["job_id"]) for body in uploads]
        sent_ids = {job.id: uuid.uuid4().hex for job in jobs}
        for job in jobs:
            job.state, job.queued_at, job.task_id = "queued", utcnow(), sent_ids[job.id]
        db.session.commit()
        for job_id, task_id in sent_ids.items():
            app.extensions["celery"].send_task("workers.tasks.process_upload", args=[job_id],
                                               task_id=task_id, queue=app.config["CELERY_QUEUE"])

    finished = [wait_for_job(client, body["status_url"]) for body in uploads]

    assert [f["state"] for f in finished] == ["ready"] * 3 + ["failed"] + ["ready"] * 2
    assert "not a JPEG, PNG, WebP or HEIC" in finished[3]["error"]
    with app.app_context():
        db.session.remove()
        jobs = [db.session.get(Job, body["job_id"]) for body in uploads]
        for job in jobs:
            assert job.attempts == 1, (job.id, job.attempts)  # taken once, by one task
            listings = db.session.scalar(select(func.count()).select_from(GeneratedListing)
                                         .where(GeneratedListing.job_id == job.id))
            assert listings == (0 if job.state == "failed" else 1)
        # Batched: jobs were run by a task other than the one sent for them.
        taken_by_other = [j for j in jobs if j.task_id != sent_ids[j.id]]
        assert taken_by_other, "every job ran under its own task: nothing was batched"
        assert len({j.task_id for j in jobs}) < len(jobs)
        for job in jobs:
            if job.state == "ready":
                assert job.product.title and job.product.description
            # Claimed with the batch's one UPDATE or on its own: the audit log has every step.
            actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.job_id == job.id)
                                         .order_by(AuditEvent.id)).all()
            assert actions[-2:] == ["job.processing", "job." + job.state], (job.id, actions)


def test_a_batched_job_that_hits_an_error_is_handed_back_and_ends_once(app, client, worker):
    """Only the first job's message is sent; the task takes the others with it. One of them has
    lost its photo: the batch hands it back under a task of its own, which fails it with a reason."""
    from webapp.storage import get_store
    from workers.tasks import GONE

    token = register(client)
    uploads = [upload_photo(client, token, drawn_ring_jpeg(256 + 16 * i))[0] for i in range(4)]
    with app.app_context():
        jobs = [db.session.get(Job, body["job_id"]) for body in uploads]
        get_store().delete(jobs[2].photo.object_key)
        never_sent = uuid.uuid4().hex  # a task id the broker never saw, so the reaper leaves them be
        for job in jobs:
            job.state, job.queued_at, job.task_id = "queued", utcnow(), never_sent
        lead = uuid.uuid4().hex
        jobs[0].task_id = lead
        db.session.commit()
        app.extensions["celery"].send_task("workers.tasks.process_upload", args=[jobs[0].id], task_id=lead,
                                           queue=app.config["CELERY_QUEUE"])

    finished = [wait_for_job(client, body["status_url"]) for body in uploads]

    assert [f["state"] for f in finished] == ["ready", "ready", "failed", "ready"]
    assert finished[2]["error"] == GONE
    with app.app_context():
        db.session.remove()
        jobs = [db.session.get(Job, body["job_id"]) for body in uploads]
        batched = jobs[:2] + jobs[3:]
        assert {j.task_id for j in batched} == {lead} and all(j.attempts == 1 for j in batched)
        handed_back = jobs[2]
        # Its own new task (the id recorded once the broker took it) took it after the batch let go.
        assert handed_back.task_id not in (lead, never_sent) and handed_back.attempts == 2
