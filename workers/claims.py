"""Who may work on a job, decided by the database so a task delivered twice writes one result.

A task claims its job under a row lock (SELECT ... FOR UPDATE): the job moves to
`processing`, `attempts` goes up by one, and the new attempt number is the claim.
Every later write for that run (the result, a failure, handing the job back for a
retry) re-locks the row and goes ahead only if the job is still `processing` under
the same attempt. A duplicate or late task therefore finds nothing to do, and one
that lost its claim to a newer run (the reaper re-queued it) cannot overwrite it.
The unique `generated_listings.job_id` is the last line of defence.
"""
import logging

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Job, utcnow

log = logging.getLogger(__name__)


def lock_job(job_id: str) -> Job | None:
    """The job row, read fresh and locked until this transaction ends (None if gone)."""
    return db.session.execute(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def claim_job(job_id: str, task_id: str | None, max_attempts: int) -> int | None:
    """Take the job for this task; return the attempt number, or None if there is nothing to do.

    A queued job is free to take. A job already `processing` under this same task id is a
    redelivery after its worker died (or a retry whose hand-back could not be written);
    it is taken again until `max_attempts`, after which the job fails with a reason.
    """
    job = lock_job(job_id)
    if job is None:
        db.session.rollback()
        return None
    redelivered = job.state == "processing" and task_id is not None and job.task_id == task_id
    if redelivered and job.attempts >= max_attempts:
        job.state, job.finished_at = "failed", utcnow()
        job.error = (f"This photo stopped the worker {job.attempts} times, so we gave up. "
                     "Please try another photo.")
        db.session.commit()
        log.warning("job %s failed after %d attempts", job_id, job.attempts)
        return None
    if job.state != "queued" and not redelivered:
        db.session.rollback()  # finished, cancelled, or another task holds it
        return None
    job.state, job.started_at, job.task_id = "processing", utcnow(), task_id or job.task_id
    job.attempts += 1
    attempt = job.attempts
    db.session.commit()
    return attempt


def owned(job_id: str, attempt: int) -> Job | None:
    """Lock the job for the final write if this run still holds it; the caller commits."""
    job = lock_job(job_id)
    if job is None or job.state != "processing" or job.attempts != attempt:
        db.session.rollback()
        log.info("job %s: attempt %d no longer holds it; result dropped", job_id, attempt)
        return None
    return job


def fail_claimed(job_id: str, attempt: int, reason: str) -> bool:
    """Fail the job with a reason the artisan can read, if this run still holds it."""
    job = owned(job_id, attempt)
    if job is None:
        return False
    job.state, job.error, job.finished_at = "failed", reason[:500], utcnow()
    db.session.commit()
    return True


def release_claimed(job_id: str, attempt: int, sent: bool = True) -> bool:
    """Hand the job back to the queue (a retry follows); `sent=False` lets the reaper send it."""
    job = owned(job_id, attempt)
    if job is None:
        return False
    job.state, job.queued_at = "queued", utcnow()
    if not sent:
        job.task_id = None
    db.session.commit()
    return True
