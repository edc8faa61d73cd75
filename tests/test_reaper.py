"""The reaper on the real database, broker and storage (no worker consumes its queue here,
so what it sends stays in Redis to be counted)."""
import base64
import json
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from tests.support import isolated_app, register
from webapp.extensions import db
from webapp.models import Job, Photo, Product, User, new_id, utcnow
from webapp.storage import get_store
from workers.reaper import reap
from workers.schedule import beat_schedule

LIMITS = {"REAPER_UNSENT_AFTER": 60, "REAPER_QUEUED_AFTER": 900, "REAPER_PROCESSING_AFTER": 300,
          "UPLOAD_URL_TTL": 600, "REAPER_UPLOAD_GRACE": 300, "JOB_MAX_ATTEMPTS": 3}


@pytest.fixture
def web(app, service_env):
    queue = f"reaper-{uuid.uuid4().hex[:8]}"
    with isolated_app(service_env, {"CELERY_QUEUE": queue, **LIMITS}) as built:
        yield built
    redis.Redis.from_url(service_env["REDIS_URL"]).delete(queue)


def sent_job_ids(web) -> list[str]:
    """Job ids of the messages waiting in the web app's queue."""
    raw = redis.Redis.from_url(web.config["REDIS_URL"]).lrange(web.config["CELERY_QUEUE"], 0, -1)
    return [json.loads(base64.b64decode(json.loads(m)["body"]))[0][0] for m in raw]


def make_job(owner_email, state, age_seconds=0, attempts=0, task_id="t", key=None, **times):
    owner = db.session.scalar(select(User).where(User.email == owner_email))
    product = Product(owner=owner)
    when = utcnow() - timedelta(seconds=age_seconds)
    photo = Photo(product=product, content_type="image/jpeg",
                  object_key=key or f"media/uploads/{owner.id}/{new_id()}.jpg")
    job = Job(product=product, photo=photo, state=state, attempts=attempts, created_at=when,
              task_id=task_id, queued_at=when if state == "queued" else None,
              started_at=when if state == "processing" else None)
    db.session.add_all([product, photo, job])
    db.session.commit()
    return job.id


def state_of(job_id):
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    return (job.state, job.error) if job else None


def test_reaper_runs_on_the_beat_schedule(web):
    entry = beat_schedule(web.config)["reap-stale-jobs"]
    assert entry["task"] == "workers.reaper.reap_stale_jobs"
    assert entry["schedule"] == web.config["REAPER_INTERVAL"]
    assert web.extensions["celery"].conf.beat_schedule["reap-stale-jobs"]["task"] == entry["task"]


def test_stuck_jobs_are_sent_again_and_fresh_ones_left_alone(web):
    register(web.test_client(), "reaper@example.com")
    with web.app_context():
        never_sent = make_job("reaper@example.com", "queued", age_seconds=61, task_id=None)
        just_queued = make_job("reaper@example.com", "queued", age_seconds=61)
        lost_message = make_job("reaper@example.com", "queued", age_seconds=901)
        worker_died = make_job("reaper@example.com", "processing", age_seconds=301, attempts=1)
        still_running = make_job("reaper@example.com", "processing", age_seconds=100, attempts=1)
        done = make_job("reaper@example.com", "ready", age_seconds=5000)

        counts = reap()

        assert counts == {"resent": 3, "failed": 0, "discarded": 0}
        assert sorted(sent_job_ids(web)) == sorted([never_sent, lost_message, worker_died])
        for job_id in (never_sent, lost_message, worker_died):
            job = db.session.get(Job, job_id)
            assert job.state == "queued" and job.task_id  # the broker took it
        assert state_of(just_queued) == ("queued", None)
        assert state_of(still_running) == ("processing", None)
        assert state_of(done) == ("ready", None)
        assert reap() == {"resent": 0, "failed": 0, "discarded": 0}  # nothing twice


def test_a_job_taken_too_often_fails_with_a_reason(web):
    register(web.test_client(), "tries@example.com")
    with web.app_context():
        job_id = make_job("tries@example.com", "processing", age_seconds=301, attempts=3)
        assert reap()["failed"] == 1
        state, error = state_of(job_id)
        assert state == "failed" and "3 tries" in error
        assert sent_job_ids(web) == []


def test_abandoned_uploads_are_deleted_with_their_objects(web):
    register(web.test_client(), "gone@example.com")
    with web.app_context():
        store = get_store()
        owner = db.session.scalar(select(User).where(User.email == "gone@example.com"))
        old_key = f"media/uploads/{owner.id}/{new_id()}.jpg"
        store.write(old_key, b"\xff\xd8\xff half an upload", "image/jpeg")
        abandoned = make_job("gone@example.com", "awaiting_upload", age_seconds=901, key=old_key)
        never_arrived = make_job("gone@example.com", "awaiting_upload", age_seconds=901)
        in_progress = make_job("gone@example.com", "awaiting_upload", age_seconds=120)

        assert reap()["discarded"] == 2

        assert state_of(abandoned) is None and state_of(never_arrived) is None
        assert store.head(old_key) is None
        assert state_of(in_progress) == ("awaiting_upload", None)
        assert db.session.scalar(select(func.count()).select_from(Product)) == 1
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 1


def test_abandoned_second_photo_keeps_the_product(web):
    register(web.test_client(), "keep@example.com")
    with web.app_context():
        kept = make_job("keep@example.com", "ready", age_seconds=5000)
        product = db.session.get(Job, kept).product
        photo = Photo(product=product, content_type="image/jpeg",
                      object_key=f"media/uploads/{product.owner_id}/{new_id()}.jpg")
        extra = Job(product=product, photo=photo, kind="photo", state="awaiting_upload",
                    created_at=utcnow() - timedelta(seconds=901))
        db.session.add_all([photo, extra])
        db.session.commit()
        extra_id, product_id = extra.id, product.id

        assert reap()["discarded"] == 1

        assert state_of(extra_id) is None
        assert db.session.get(Product, product_id) is not None
        assert state_of(kept) == ("ready", None)
