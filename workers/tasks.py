"""Celery tasks: turn an uploaded photo into a generated listing.

Delivered at least once (acks late, requeued when a worker is lost), run at most once
per job: the task claims the job in the database first (workers/claims.py). Storage and
database hiccups are retried with backoff; a photo that cannot be used fails the job with
a reason the artisan can read and is deleted; a run that overstays the soft time limit
fails with a reason too. Nothing here raises for a job that is already finished.
"""
import logging
import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webapp.extensions import db
from webapp.listings.merge import apply_generated, generation_options
from webapp.logging_setup import bind_log_ids
from webapp.metrics import INFERENCE_SECONDS, JOBS_FINISHED, UPLOAD_TO_READY_SECONDS
from webapp.models import GeneratedListing, Job, utcnow
from webapp.storage import get_store
from workers.batching import claim_more
from workers.claims import claim_job, fail_claimed, owned, release_claimed
from workers.explain import queue_heatmap
from workers.models import get_generator
from workers.photos import BadPhoto, decode_photo, stored_jpeg, thumbnail_jpeg

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# S3 answers that mean "try again later"; anything else from S3 (a missing key) is final.
S3_RETRY_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                  "RequestTimeTooSkewed", "Throttling", "ThrottlingException", "503", "500"}
CLEAN_SUFFIX, THUMB_SUFFIX = ".photo.jpg", ".thumb.jpg"

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


# When this task's soft time limit runs out (process-wide: a pool process runs one task at a time).
_deadline = {"at": None}


def check_time() -> None:
    """Raise the soft time limit here, at a safe point, if it has passed.

    Celery's own signal can land inside a library that catches broad exceptions (the storage
    client swallows it and retries its read), so the task checks the clock itself too.
    """
    if _deadline["at"] is not None and time.monotonic() > _deadline["at"]:
        raise SoftTimeLimitExceeded()


def backoff(retries: int) -> int:
    """2, 4, 8 ... seconds, capped at a minute."""
    return min(60, 2 ** (retries + 1))


@shared_task(bind=True, name="workers.tasks.process_upload", max_retries=None,
             acks_late=True, reject_on_worker_lost=True)
def process_upload(self, job_id: str) -> str:
    """Decode the photo, run the models and store the listing; running it twice writes one result."""
    bind_log_ids(job_id=job_id)
    config = current_app.config
    _deadline["at"] = time.monotonic() + config["TASK_SOFT_TIME_LIMIT"]
    attempt = None
    try:
        attempt = claim_job(job_id, self.request.id, config["JOB_MAX_ATTEMPTS"])
        if attempt is None:
            return "skipped"  # finished already, gone, or another task holds it
        extras = claim_more(job_id, self.request.id, config["WORKER_BATCH_MAX"] - 1, config["JOB_MAX_ATTEMPTS"])
        outcome = _process_batch(job_id, attempt, extras) if extras else _process(job_id, attempt)
    except SoftTimeLimitExceeded:
        _reset_session()
        log.warning("job %s: soft time limit reached", job_id)
        outcome = _give_up(job_id, attempt, TOO_SLOW)
    except Exception as exc:
        _reset_session()
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


def _reset_session() -> None:
    """Forget the failed transaction; with the connection gone, rollback itself fails."""
    try:
        db.session.rollback()
    except Exception:
        db.session.close()


def _give_up(job_id: str, attempt: int | None, reason: str) -> str:
    if attempt is None:
        return "skipped"
    return "failed" if fail_claimed(job_id, attempt, reason) else "skipped"


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
            release_claimed(job_id, attempt, sent=sent)
        except Exception as db_exc:  # the retry re-takes the job by its task id
            _reset_session()
            log.warning("job %s: could not hand back (%s)", job_id, db_exc)
    JOBS_FINISHED.labels("retry").inc()
    if sent:
        raise retry
    return "queued"


@dataclass
class Prepared:
    """A claimed job whose photo is decoded and ready for the models."""
    job_id: str
    attempt: int
    source_key: str
    image: object
    options: dict


def _process(job_id: str, attempt: int) -> str:
    prepared = _prepare(job_id, attempt)
    if isinstance(prepared, str):
        return prepared
    started = time.perf_counter()
    result = get_generator().generate([prepared.image], **prepared.options)[0]
    return _finish(prepared, result, time.perf_counter() - started)


def _process_batch(job_id: str, attempt: int, extras: list[tuple[str, int]]) -> str:
    """The lead job plus jobs claimed by workers/batching.py, through the models in one batch.

    The lead job's errors take the usual way (retry, fail with a reason); a claimed job that
    hits an error is handed back to the queue with a fresh task, so each job still ends once.
    """
    ready = []
    for extra_id, extra_attempt in extras:
        try:
            prepared = _prepare(extra_id, extra_attempt)
        except Exception as exc:
            _hand_back(extra_id, extra_attempt, exc)
            continue
        if isinstance(prepared, str):
            JOBS_FINISHED.labels(prepared).inc()
        else:
            ready.append(prepared)
    try:
        lead = _prepare(job_id, attempt)
        batch = ready + ([] if isinstance(lead, str) else [lead])
        started = time.perf_counter()
        results = get_generator().generate(
            [p.image for p in batch], tone=[p.options["tone"] for p in batch],
            length=[p.options["length"] for p in batch]) if batch else []
        share = (time.perf_counter() - started) / max(1, len(batch))
    except Exception as exc:
        for prepared in ready:
            _hand_back(prepared.job_id, prepared.attempt, exc)
        raise
    for prepared, result in zip(ready, results):
        try:
            JOBS_FINISHED.labels(_finish(prepared, result, share)).inc()
        except Exception as exc:
            _hand_back(prepared.job_id, prepared.attempt, exc)
    bind_log_ids(job_id=job_id)
    return lead if isinstance(lead, str) else _finish(lead, results[-1], share)


def _hand_back(job_id: str, attempt: int, exc: Exception) -> None:
    """Put a batched job back in the queue under a task of its own (the reaper if even that fails)."""
    db.session.rollback()
    log.warning("job %s (batched): %s: %s; handed back to the queue", job_id, type(exc).__name__, exc)
    try:
        if release_claimed(job_id, attempt, sent=True):
            process_upload.apply_async((job_id,))
    except Exception as again:
        db.session.rollback()
        log.warning("job %s: not handed back (%s); the reaper will", job_id, again)


def _prepare(job_id: str, attempt: int) -> "Prepared | str":
    """Read and decode the claimed job's photo; a photo that cannot be used fails the job."""
    config = current_app.config
    store = get_store()
    job = db.session.get(Job, job_id)
    bind_log_ids(job_id=job_id, product_id=job.product_id)
    source_key = job.photo.object_key
    data = store.read(source_key, max_bytes=config["UPLOAD_MAX_BYTES"])
    check_time()
    try:
        if len(data) > config["UPLOAD_MAX_BYTES"]:
            raise BadPhoto("The photo is larger than allowed.")
        image = decode_photo(data)
    except BadPhoto as exc:
        if not fail_claimed(job_id, attempt, str(exc)):
            return "skipped"
        try:
            store.delete(source_key)  # nothing unusable is kept
        except Exception as delete_exc:
            log.warning("job %s: unusable photo %s not deleted: %s", job_id, source_key, delete_exc)
        return "failed"
    options = generation_options(job)
    db.session.commit()  # no transaction (and no row lock) held while the model runs
    return Prepared(job_id, attempt, source_key, image, options)


def _finish(prepared: Prepared, result: dict, elapsed: float) -> str:
    """Store the thumbnail, the clean copy and the listing, if this run still holds the job."""
    job_id, attempt, source_key, image = prepared.job_id, prepared.attempt, prepared.source_key, prepared.image
    bind_log_ids(job_id=job_id)
    check_time()
    store = get_store()
    INFERENCE_SECONDS.labels(result["model_version"]).observe(elapsed)

    # Stored copies are re-encoded from pixels: upright, no metadata. Keys are derived from
    # the upload's, so a second run writes the same objects.
    already_clean = source_key.endswith(CLEAN_SUFFIX)
    base = source_key[:-len(CLEAN_SUFFIX)] if already_clean else source_key.rsplit(".", 1)[0]
    thumb_key, clean_key = base + THUMB_SUFFIX, base + CLEAN_SUFFIX
    store.write(thumb_key, thumbnail_jpeg(image), "image/jpeg")
    clean = None if already_clean else stored_jpeg(image)
    if clean is not None:
        store.write(clean_key, clean, "image/jpeg")

    job = owned(job_id, attempt)
    if job is None:
        return "skipped"
    photo = job.photo
    photo.width, photo.height = image.size
    photo.thumbnail_key = thumb_key
    if clean is not None:
        photo.object_key, photo.content_type, photo.size_bytes = clean_key, "image/jpeg", len(clean)
    db.session.add(GeneratedListing(
        job=job, attributes=result["attributes"], title=result["title"],
        description=result["description"], tags=result["tags"],
        model_version=result["model_version"], inference_ms=int(elapsed * 1000)))
    # The artisan's copy takes the generated text, except fields a person wrote (unless
    # they asked this run to replace them).
    apply_generated(job, result)
    job.state, job.finished_at, job.error = "ready", utcnow(), None
    try:
        db.session.commit()
    except IntegrityError:  # a result for this job exists already
        db.session.rollback()
        return "skipped"
    if clean is not None:
        try:
            store.delete(source_key)  # the browser's bytes; the clean copy replaces them
        except Exception as exc:
            log.warning("job %s: original %s not deleted: %s", job_id, source_key, exc)
    if job.queued_at:
        UPLOAD_TO_READY_SECONDS.observe((job.finished_at - job.queued_at).total_seconds())
    queue_heatmap(job.photo_id)  # Grad-CAM for the admin review page, as its own task
    log.info("job %s ready in %d ms", job_id, int(elapsed * 1000))
    return "ready"
