"""The Celery task that turns an uploaded photo into a generated listing, and its error rules.

Delivered at least once (acks late, requeued when a worker is lost), run at most once
per job: the task claims the job in the database first (webapp/job_lifecycle.py), with
queued jobs to batch (workers/batch.py). Storage and database hiccups are retried with
backoff; a photo that cannot be used fails the job with a reason the artisan can read and
is deleted; a run that overstays the soft time limit fails with a reason too. Nothing here
raises for a job that is already finished.
"""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webapp import job_lifecycle
from webapp.logging_setup import bind_log_ids
from webapp.metrics import JOBS_FINISHED
from workers.batch import Batch
from workers.concurrency import Deadline
from workers.result_writer import reset_session

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# S3 answers that mean "try again later"; anything else from S3 (a missing key) is final.
S3_RETRY_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                  "RequestTimeTooSkewed", "Throttling", "ThrottlingException", "503", "500"}

TOO_SLOW = "Reading this photo took too long. Please try again, or upload a smaller photo."
UNAVAILABLE = "Storage or the database was unavailable for too long. Please try again."
GONE = "The photo is no longer in storage; please upload it again."
UNEXPECTED = "Something went wrong while reading this photo. Please try again."


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the database or storage could not be reached or asked us to slow down."""
    if isinstance(exc, DATABASE_DOWN + (BotoCoreError, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in S3_RETRY_CODES or status >= 500
    return False


def backoff(retries: int) -> int:
    """2, 4, 8 ... seconds, capped at a minute."""
    return min(60, 2 ** (retries + 1))


@shared_task(bind=True, name="workers.tasks.process_upload", max_retries=None,
             acks_late=True, reject_on_worker_lost=True)
def process_upload(self, job_id: str) -> str:
    """Decode the photo, run the models and store the listing; running it twice writes one result."""
    bind_log_ids(job_id=job_id)
    config = current_app.config
    deadline = Deadline(config["TASK_SOFT_TIME_LIMIT"])
    attempt, batch = None, None
    try:
        attempt = job_lifecycle.claim_job(job_id, self.request.id, config["JOB_MAX_ATTEMPTS"])
        if attempt is None:
            return "skipped"  # finished already, gone, or another task holds it
        extras = job_lifecycle.claim_more(job_id, self.request.id, config["WORKER_BATCH_MAX"] - 1,
                                          config["JOB_MAX_ATTEMPTS"])
        batch = Batch(job_id, attempt, extras, deadline)
        outcome = batch.run()
    except SoftTimeLimitExceeded as exc:
        reset_session()
        if batch is not None:
            batch.hand_back_open(exc)
        bind_log_ids(job_id=job_id)
        log.warning("job %s: soft time limit reached", job_id)
        outcome = _give_up(job_id, attempt, TOO_SLOW)
    except Exception as exc:
        reset_session()
        if batch is not None:
            batch.hand_back_open(exc)
        bind_log_ids(job_id=job_id)
        if is_transient(exc) and self.request.retries < config["TASK_MAX_RETRIES"]:
            return _retry(self, job_id, attempt, exc)
        if is_transient(exc):
            log.warning("job %s failed after %d retries: %s", job_id, self.request.retries, exc)
            outcome = _give_up(job_id, attempt, UNAVAILABLE)
        elif isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            log.warning("job %s: photo missing from storage", job_id)
            outcome = _give_up(job_id, attempt, GONE)
        else:
            log.exception("job %s failed", job_id)
            outcome = _give_up(job_id, attempt, UNEXPECTED)
    JOBS_FINISHED.labels(outcome).inc()
    return outcome


def _give_up(job_id: str, attempt: int | None, reason: str) -> str:
    if attempt is None:
        return "skipped"
    return "failed" if job_lifecycle.fail_claimed(job_id, attempt, reason) else "skipped"


def _retry(task, job_id: str, attempt: int | None, exc: Exception) -> str:
    """Send the task again after a pause and hand the job back; if even that fails, the reaper sends it."""
    countdown = backoff(task.request.retries)
    log.warning("job %s: %s: %s; retrying in %d s", job_id, type(exc).__name__, exc, countdown)
    try:
        retry = task.retry(exc=exc, countdown=countdown, throw=False)
        sent = True
    except Reject:  # the broker is down too
        retry, sent = None, False
    if attempt is not None:
        try:
            job_lifecycle.release_claimed(job_id, attempt, sent=sent)
        except Exception as db_exc:  # the retry re-takes the job by its task id
            reset_session()
            log.warning("job %s: could not hand back (%s)", job_id, db_exc)
    JOBS_FINISHED.labels("retry").inc()
    if sent:
        raise retry
    return "queued"
