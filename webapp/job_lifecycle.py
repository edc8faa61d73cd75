"""Every state change of a job, each with its audit entry: the one place that writes `Job.state`.

    awaiting_upload ─confirm─▶ queued ─claim─▶ processing ─▶ ready | failed
    processing ─release (a retry or a hand-back) / reaper (its worker died)─▶ queued
    failed ─requeue (an admin, or the artisan's retry)─▶ queued

The row is committed before its message is sent (`send_job`), so a broker outage delays a
job and never loses it; a queued job with no task id is one the broker never took.

Who may work on a job is decided by the database, so a task delivered twice writes one
result: a task claims its job under a row lock (SELECT ... FOR UPDATE), the job moves to
`processing`, `attempts` goes up by one, and the new attempt number is the claim. Every
later write for that run (the result, a failure, handing the job back) re-locks the row
(`owned`) and goes ahead only if the job is still `processing` under the same attempt. A
duplicate or late task therefore finds nothing to do, and one that lost its claim to a
newer run cannot overwrite it. The unique `generated_listings.job_id` is the last line of
defence. A batch's extra jobs are claimed the same way, in one UPDATE (`claim_more`).

Each change adds an `AuditEvent` ("job.<new state>", old and new state and error) in the
same transaction, a bulk claim one per job; the actor is the person in the request, or
None for the worker and the reaper. Each change, and each deletion (`delete_job`), also
forgets the job's entry in the status poll's cache once committed (webapp/poll_cache.py).
"""
import logging
import uuid

from flask import current_app
from sqlalchemy import and_, or_, select, update

from webapp.audit import current_actor_id
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.models import Job, utcnow
from webapp.poll_cache import forget_after_commit
from webapp.storage import get_store

log = logging.getLogger(__name__)

ERROR_LIMIT = 500  # Job.error's column size


class RequeueRefused(Exception):
    """Why a job cannot run again: `why` is "not failed" or "photo gone"; callers word it."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def _audit(job: Job, changes: dict) -> AuditEvent:
    return AuditEvent(actor_id=current_actor_id(), product_id=job.product_id, job_id=job.id,
                      action=f"job.{changes['state'][1]}", changes=changes)


def _move(job: Job, state: str, **fields) -> None:
    """Set the state and other columns and record the change; the caller commits."""
    changes = {"state": [job.state, state]}
    if "error" in fields and fields["error"] != job.error:
        changes["error"] = [job.error, fields["error"]]
    job.state = state
    for name, value in fields.items():
        setattr(job, name, value)
    db.session.add(_audit(job, changes))
    forget_after_commit(jobs=[job.id])


def lock_job(job_id: str) -> Job | None:
    """The job row, read fresh and locked until this transaction ends (None if gone)."""
    return db.session.execute(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


# --- created, queued, sent -------------------------------------------------------------

# Where each kind of job starts: an upload's waits for its file, a regeneration is queued at
# once (send it with `send_job` after the commit), a duplicated listing's is ready with the copy.
FIRST_STATE = {"upload": "awaiting_upload", "photo": "awaiting_upload", "regenerate": "queued", "copy": "ready"}


def new_job(product, photo, kind: str, **fields) -> Job:
    """A job for ``photo`` (``fields`` may set tone, length, replace_fields), added and flushed
    with its audit entry; the caller commits."""
    state, now = FIRST_STATE[kind], utcnow()
    times = {"queued": {"queued_at": now},
             "ready": {"queued_at": now, "started_at": now, "finished_at": now}}.get(state, {})
    job = Job(product=product, photo=photo, kind=kind, state=state, **times, **fields)
    db.session.add(job)
    db.session.flush()  # the job's id, for its audit entry
    db.session.add(_audit(job, {"state": [None, state]}))
    return job


def queue(job: Job, **fields) -> None:
    """An upload that arrived, or a failed job run again: queued (committed), then sent."""
    _move(job, "queued", queued_at=utcnow(), **fields)
    db.session.commit()
    send_job(job)


def send_job(job: Job) -> None:
    """Publish the job to the broker; if that fails the row stays queued and the reaper sends it.

    The task id is chosen here and stored only once the broker took the message, so a
    queued job with no task id is one the broker never saw (workers/reaper.py).
    """
    task_id = uuid.uuid4().hex
    try:
        current_app.extensions["celery"].send_task(
            "workers.tasks.process_upload", args=[job.id], task_id=task_id,
            queue=current_app.config["CELERY_QUEUE"])
    except Exception as exc:  # broker down: the job is safe in the database
        log.warning("could not queue job %s (%s: %s); the reaper will send it",
                    job.id, type(exc).__name__, exc)
        task_id = None
    # Only while still queued: a task that already took the job recorded its own id.
    db.session.execute(update(Job).where(Job.id == job.id, Job.state == "queued")
                       .values(task_id=task_id).execution_options(synchronize_session=False))
    db.session.commit()


def requeue(job: Job) -> None:
    """Run a failed job again, if its photo is still in storage (unusable photos are deleted)."""
    if job.state != "failed":
        raise RequeueRefused("not failed")
    if get_store().head(job.photo.object_key) is None:
        raise RequeueRefused("photo gone")
    queue(job, error=None, started_at=None, finished_at=None)


def fail(job: Job, reason: str) -> None:
    """End the job with a reason the artisan can read (committed)."""
    _move(job, "failed", error=reason[:ERROR_LIMIT], finished_at=utcnow())
    db.session.commit()


def delete_job(job: Job) -> None:
    """Delete the job row (an abandoned upload, a deleted listing); the caller commits."""
    forget_after_commit(jobs=[job.id])
    db.session.delete(job)


# --- the worker's claims ---------------------------------------------------------------

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
        fail(job, f"This photo stopped the worker {job.attempts} times, so we gave up. Please try another photo.")
        log.warning("job %s failed after %d attempts", job_id, job.attempts)
        return None
    if job.state != "queued" and not redelivered:
        db.session.rollback()  # finished, cancelled, or another task holds it
        return None
    _move(job, "processing", started_at=utcnow(), task_id=task_id or job.task_id, attempts=job.attempts + 1)
    attempt = job.attempts
    db.session.commit()
    return attempt


def claim_more(lead_job_id: str, task_id: str | None, limit: int, max_attempts: int) -> dict[str, int]:
    """Claim up to ``limit`` other waiting jobs for this task (micro-batching); job id -> attempt.

    The oldest queued jobs, and this task's own jobs after a redelivery (same task id, below
    ``max_attempts``), as `claim_job` would take them one by one. Rows another worker has
    locked are skipped (SKIP LOCKED), never waited for.
    """
    if limit <= 0 or not task_id:
        return {}
    mine = and_(Job.state == "processing", Job.task_id == task_id, Job.attempts < max_attempts)
    jobs = db.session.execute(
        select(Job).where(Job.id != lead_job_id, or_(Job.state == "queued", mine))
        .order_by(Job.queued_at).limit(limit)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    claimed = {job.id: job.attempts + 1 for job in jobs}  # the rows are locked: nobody else moves them
    if claimed:
        # One statement for the batch rather than one per job; its audit entries are added here.
        db.session.execute(
            update(Job).where(Job.id.in_(list(claimed)))
            .values(state="processing", started_at=utcnow(), task_id=task_id, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False))
        db.session.add_all(_audit(job, {"state": [job.state, "processing"]})
                           for job in jobs if job.state != "processing")
        forget_after_commit(jobs=claimed)
    db.session.commit()
    if claimed:
        log.info("task %s took %d more queued jobs", task_id, len(claimed))
    return claimed


def owned(job_id: str, attempt: int) -> Job | None:
    """Lock the job for the final write if this run still holds it; the caller commits."""
    job = lock_job(job_id)
    if not holds(job, attempt):
        db.session.rollback()
        log.info("job %s: attempt %d no longer holds it; result dropped", job_id, attempt)
        return None
    return job


def holds(job: Job | None, attempt: int) -> bool:
    """Whether a job row (locked by the caller) is still this run's to write."""
    return job is not None and job.state == "processing" and job.attempts == attempt


def mark_ready(job: Job) -> None:
    """The run's result is recorded with the job (the caller holds it, and commits)."""
    _move(job, "ready", finished_at=utcnow(), error=None)


def fail_claimed(job_id: str, attempt: int, reason: str) -> bool:
    """Fail the job with a reason the artisan can read, if this run still holds it."""
    job = owned(job_id, attempt)
    if job is None:
        return False
    fail(job, reason)
    return True


def release_claimed(job_id: str, attempt: int, sent: bool = True) -> bool:
    """Hand the job back to the queue (a retry follows); `sent=False` lets the reaper send it."""
    job = owned(job_id, attempt)
    if job is None:
        return False
    _move(job, "queued", queued_at=utcnow(), **({} if sent else {"task_id": None}))
    db.session.commit()
    return True


def hand_back(job_id: str, attempt: int) -> bool:
    """Release a claimed job as unsent and publish it under a task of its own.

    The task id is recorded only once the broker took the message (`send_job`), so a failed
    publish leaves a queued job without one, which the reaper sends soon.
    """
    if not release_claimed(job_id, attempt, sent=False):
        return False
    send_job(db.session.get(Job, job_id))
    return True


def resend_stuck(job: Job) -> None:
    """The reaper's way back: a stuck job (locked by the caller) queued afresh and sent again."""
    _move(job, "queued", queued_at=utcnow(), task_id=None)
    db.session.commit()
    send_job(job)
