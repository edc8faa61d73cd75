"""The reaper, run by Celery beat every REAPER_INTERVAL: no accepted upload is left behind.

A job row is committed before its message is sent, so the database knows every job
the broker may have lost. Each run:
- sends again a queued job the broker never took (task id unset) after REAPER_UNSENT_AFTER,
  and any queued job still waiting after REAPER_QUEUED_AFTER (its message was lost);
- re-queues a job `processing` for longer than REAPER_PROCESSING_AFTER (its worker died;
  the hard time limit ended any real run well before);
- fails, with a reason, a stuck job already taken JOB_MAX_ATTEMPTS times;
- deletes uploads never confirmed (object, then rows) once their signed form has expired
  and REAPER_UPLOAD_GRACE has passed;
- deletes uploaded objects no photo points to (a form replayed after its job was done),
  once every form that could have stored them has expired (workers/orphans.py).
Every change re-checks the row under a lock, so two reapers, or a reaper and a worker,
never act on the same job twice.
"""
import logging
from datetime import timedelta

from celery import shared_task
from flask import current_app
from sqlalchemy import and_, or_, select

from webapp import job_lifecycle
from webapp.extensions import db
from webapp.models import Job, utcnow
from webapp.products.uploads import discard_upload
from workers.orphans import sweep_orphan_uploads

log = logging.getLogger(__name__)

GAVE_UP = "We could not finish this listing after {n} tries. Please try again later."


def _stale_conditions(now, config):
    return {
        "unsent": and_(Job.state == "queued", Job.task_id.is_(None),
                       Job.queued_at < now - timedelta(seconds=config["REAPER_UNSENT_AFTER"])),
        "queued": and_(Job.state == "queued",
                       Job.queued_at < now - timedelta(seconds=config["REAPER_QUEUED_AFTER"])),
        "processing": and_(Job.state == "processing",
                           Job.started_at < now - timedelta(seconds=config["REAPER_PROCESSING_AFTER"])),
    }


def reap(limit: int = 500) -> dict:
    """One pass; returns how many jobs were re-sent, failed and uploads deleted."""
    config = current_app.config
    now = utcnow()
    conditions = _stale_conditions(now, config)
    counts = {"resent": 0, "failed": 0, "discarded": 0}
    stuck = db.session.scalars(select(Job.id).where(or_(*conditions.values()))
                               .order_by(Job.created_at).limit(limit)).all()
    db.session.rollback()
    for job_id in stuck:
        outcome = _revive(job_id, conditions)
        if outcome:
            counts[outcome] += 1
    abandoned_before = now - timedelta(seconds=config["UPLOAD_URL_TTL"] + config["REAPER_UPLOAD_GRACE"])
    abandoned = db.session.scalars(select(Job.id).where(
        Job.state == "awaiting_upload", Job.created_at < abandoned_before)
        .order_by(Job.created_at).limit(limit)).all()
    db.session.rollback()
    for job_id in abandoned:
        if _discard(job_id, abandoned_before):
            counts["discarded"] += 1
    if any(counts.values()):
        log.info("reaper: %(resent)d re-sent, %(failed)d failed, %(discarded)d abandoned uploads deleted",
                 counts)
    return counts


def _revive(job_id: str, conditions: dict) -> str | None:
    """Re-queue and send one stuck job, or fail it if it has had its tries; None if it moved on."""
    job = job_lifecycle.lock_job(job_id)
    still_stuck = job is not None and db.session.scalar(
        select(Job.id).where(Job.id == job_id, or_(*conditions.values()))) is not None
    if not still_stuck:
        db.session.rollback()
        return None
    if job.attempts >= current_app.config["JOB_MAX_ATTEMPTS"]:
        job_lifecycle.fail(job, GAVE_UP.format(n=job.attempts))
        log.warning("reaper: job %s failed after %d attempts", job_id, job.attempts)
        return "failed"
    log.warning("reaper: job %s stuck in %s (attempt %d, task %s); sending it again",
                job_id, job.state, job.attempts, job.task_id)
    job_lifecycle.resend_stuck(job)
    return "resent"


def _discard(job_id: str, abandoned_before) -> bool:
    job = job_lifecycle.lock_job(job_id)
    if job is None or job.state != "awaiting_upload" or job.created_at >= abandoned_before:
        db.session.rollback()
        return False
    try:
        discard_upload(job)
    except Exception as exc:  # storage unreachable: rows kept, next run tries again
        db.session.rollback()
        log.warning("reaper: abandoned upload %s not deleted yet: %s", job_id, exc)
        return False
    return True


@shared_task(name="workers.reaper.reap_stale_jobs", ignore_result=True)
def reap_stale_jobs() -> dict:
    """The beat entry point (workers/schedule.py); also removes orphan uploads (workers/orphans.py)."""
    return {**reap(), "orphans": sweep_orphan_uploads()}
