"""One result per job however often its task is delivered: claims and fences on MariaDB,
then duplicate messages through the real worker."""
import re
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import ready_product
from tests.harness import wait_until
from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.job_lifecycle import claim_job, fail_claimed, owned, release_claimed
from webapp.models import GeneratedListing, Job, Photo, Product, User, new_id, utcnow


def queued_job(email="claims@example.com") -> str:
    owner = db.session.scalar(select(User).where(User.email == email))
    product = Product(owner=owner)
    photo = Photo(product=product, content_type="image/jpeg",
                  object_key=f"media/uploads/{owner.id}/{new_id()}.jpg")
    job = Job(product=product, photo=photo, state="queued", queued_at=utcnow())
    db.session.add_all([product, photo, job])
    db.session.commit()
    return job.id


def test_a_job_is_claimed_once_and_a_redelivery_takes_it_again(app, client):
    register(client, "claims@example.com")
    with app.app_context():
        job_id = queued_job()
        assert claim_job(job_id, "task-a", max_attempts=3) == 1
        assert claim_job(job_id, "task-b", max_attempts=3) is None  # a duplicate message
        assert claim_job(job_id, "task-a", max_attempts=3) == 2  # its worker died; same message
        job = db.session.get(Job, job_id)
        assert (job.state, job.attempts, job.task_id) == ("processing", 2, "task-a")


def test_stale_attempts_cannot_write(app, client):
    register(client, "claims@example.com")
    with app.app_context():
        job_id = queued_job()
        first = claim_job(job_id, "task-a", max_attempts=5)
        second = claim_job(job_id, "task-a", max_attempts=5)
        assert owned(job_id, first) is None  # superseded: its result is dropped
        assert not fail_claimed(job_id, first, "late failure")
        assert not release_claimed(job_id, first)
        assert db.session.get(Job, job_id).state == "processing"
        assert fail_claimed(job_id, second, "the real reason")
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert (job.state, job.error) == ("failed", "the real reason")
        assert claim_job(job_id, "task-a", max_attempts=5) is None  # finished stays finished


def test_a_photo_that_keeps_killing_the_worker_fails_with_a_reason(app, client):
    register(client, "claims@example.com")
    with app.app_context():
        job_id = queued_job()
        for attempt in (1, 2, 3):
            assert claim_job(job_id, "poison", max_attempts=3) == attempt
        assert claim_job(job_id, "poison", max_attempts=3) is None
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert job.state == "failed" and "3 times" in job.error


def test_release_without_a_message_leaves_the_job_for_the_reaper(app, client):
    register(client, "claims@example.com")
    with app.app_context():
        job_id = queued_job()
        attempt = claim_job(job_id, "task-a", max_attempts=3)
        assert release_claimed(job_id, attempt, sent=False)
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        assert (job.state, job.task_id) == ("queued", None)


def test_duplicate_messages_through_the_worker_write_one_result(app, client, worker):
    token = register(client, "dupes@example.com")
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert stored.status_code == 204
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202
    celery = app.extensions["celery"]
    extra = [uuid.uuid4().hex for _ in range(2)]
    for task_id in extra:  # the broker delivers twice more, as after a lost acknowledgement
        celery.send_task("workers.tasks.process_upload", args=[body["job_id"]], task_id=task_id,
                         queue=app.config["CELERY_QUEUE"])

    assert wait_for_job(client, body["status_url"], timeout=180)["state"] == "ready"
    wait_until(lambda: all(re.search(rf"{t}\].*succeeded.*'skipped'", worker.log_path.read_text())
                           for t in extra), 120, "duplicate messages were not consumed")
    # After it is ready, one more delivery still does nothing.
    late = uuid.uuid4().hex
    celery.send_task("workers.tasks.process_upload", args=[body["job_id"]], task_id=late,
                     queue=app.config["CELERY_QUEUE"])
    wait_until(lambda: re.search(rf"{late}\].*succeeded.*'skipped'", worker.log_path.read_text()),
               120, "late message was not consumed")
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(GeneratedListing)
                                  .where(GeneratedListing.job_id == body["job_id"]))
        assert count == 1
        assert db.session.get(Job, body["job_id"]).attempts == 1


def test_a_second_result_for_a_job_is_refused_by_the_database(app, client):
    register(client, "unique@example.com")
    with app.app_context():
        product_id = ready_product("unique@example.com")
        job = db.session.get(Product, product_id).jobs[0]
        db.session.add(GeneratedListing(job=job, attributes={}, title="again", description="x",
                                        tags=[], model_version="dup"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
