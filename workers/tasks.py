"""Celery tasks: turn an uploaded photo into a generated listing.

Delivered at least once (acks late, requeued when a worker is lost), run at most once
per job: the task claims the job in the database first (workers/claims.py). Storage and
database hiccups are retried with backoff; a photo that cannot be used fails the job with
a reason the artisan can read and is deleted; a run that overstays the soft time limit
fails with a reason too. Nothing here raises for a job that is already finished.
"""
import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import pairwise

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import DisconnectionError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.listings.embeddings import record_embedding
from webapp.listings.merge import apply_generated, generation_options
from webapp.logging_setup import bind_log_ids
from webapp.metrics import INFERENCE_SECONDS, JOBS_FINISHED, UPLOAD_TO_READY_SECONDS
from webapp.models import GeneratedListing, Job, utcnow
from webapp.products.uploads import send_job
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
    attempt, extras = None, {}
    try:
        attempt = claim_job(job_id, self.request.id, config["JOB_MAX_ATTEMPTS"])
        if attempt is None:
            return "skipped"  # finished already, gone, or another task holds it
        extras = dict(claim_more(job_id, self.request.id, config["WORKER_BATCH_MAX"] - 1,
                                 config["JOB_MAX_ATTEMPTS"]))
        outcome = _process(job_id, attempt, extras)
    except SoftTimeLimitExceeded as exc:
        _reset_session()
        _hand_back_open(extras, exc)
        bind_log_ids(job_id=job_id)
        log.warning("job %s: soft time limit reached", job_id)
        outcome = _give_up(job_id, attempt, TOO_SLOW)
    except Exception as exc:
        _reset_session()
        _hand_back_open(extras, exc)
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


@dataclass
class Copies:
    """The objects written for a processed photo (``clean_size`` None: the upload was already clean)."""
    thumb_key: str
    clean_key: str
    clean_size: int | None


IO_THREADS = 8  # storage round trips in flight at once (botocore keeps 10 connections a client)
_io = {"pool": None}


def io_pool() -> ThreadPoolExecutor:
    """Threads for storage round trips, made on first use (in the pool process, after the fork).

    boto3 clients are thread-safe; the database session is not, so it stays on the task's thread."""
    if _io["pool"] is None:
        _io["pool"] = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="storage")
    return _io["pool"]


def concurrently(fn, items) -> list:
    """``fn(item)`` for every item on the storage threads: each entry is its result or the
    exception it raised. Waits in short steps, so the soft time limit still ends a stuck batch."""
    futures = [io_pool().submit(fn, item) for item in items]
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=0.25)
        check_time()
    return [f.exception() or f.result() for f in futures]


def _process(job_id: str, attempt: int, extras: dict[str, int]) -> str:
    """The lead job plus the jobs claimed by workers/batching.py, through the models in one batch.

    The photos of the batch are read, and its copies written and deleted, concurrently; the
    results are written in one transaction, each under its own fenced claim. The lead job's
    errors take the usual way (retry, fail with a reason); a claimed job that hits an error is
    handed back to the queue with a fresh task, so each job still ends once. ``extras``
    (job id -> attempt) holds the claimed jobs not ended yet: what is left in it when this
    raises, process_upload hands back.
    """
    clock = [time.perf_counter()]
    prepared = _prepare_all({**extras, job_id: attempt})
    clock.append(time.perf_counter())
    for extra_id in list(extras):
        outcome = prepared[extra_id]
        if isinstance(outcome, Exception):
            _hand_back(extra_id, extras.pop(extra_id), outcome)
        elif isinstance(outcome, str):
            del extras[extra_id]
            JOBS_FINISHED.labels(outcome).inc()
    lead = prepared[job_id]
    if isinstance(lead, Exception):
        raise lead
    batch = [p for p in prepared.values() if isinstance(p, Prepared)]
    if not batch:
        return lead
    started = time.perf_counter()
    results = get_generator().generate(
        [p.image for p in batch], tone=[p.options["tone"] for p in batch],
        length=[p.options["length"] for p in batch], seed=[p.options["seed"] for p in batch],
        given=[p.options["given"] for p in batch], facts=[p.options["facts"] for p in batch])
    share = (time.perf_counter() - started) / len(batch)
    clock.append(time.perf_counter())
    outcomes = _finish_all(batch, results, share, clock)
    log.info("batch of %d: photos read %d ms, models %d ms, copies stored %d ms, listings written %d ms, "
             "originals deleted %d ms", len(batch), *(int((b - a) * 1000) for a, b in pairwise(clock)))
    for extra_id in list(extras):
        outcome, extra_attempt = outcomes[extra_id], extras.pop(extra_id)
        if isinstance(outcome, Exception):
            _hand_back(extra_id, extra_attempt, outcome)
        else:
            JOBS_FINISHED.labels(outcome).inc()
    bind_log_ids(job_id=job_id)
    if isinstance(lead, str):
        return lead
    if isinstance(outcomes[job_id], Exception):
        raise outcomes[job_id]
    return outcomes[job_id]


def _hand_back(job_id: str, attempt: int, exc: BaseException) -> None:
    """Put a batched job back in the queue under a task of its own.

    The row is released as unsent and the task id recorded only once the broker took the
    message (send_job), so a failed publish leaves a job the reaper sends soon.
    """
    _reset_session()
    log.warning("job %s (batched): %s: %s; handed back to the queue", job_id, type(exc).__name__, exc)
    try:
        if release_claimed(job_id, attempt, sent=False):
            send_job(db.session.get(Job, job_id))
    except Exception as again:
        _reset_session()
        log.warning("job %s: not handed back (%s); the reaper will", job_id, again)


def _hand_back_open(extras: dict[str, int], exc: BaseException) -> None:
    for extra_id in list(extras):
        _hand_back(extra_id, extras.pop(extra_id), exc)


def _prepare_all(claims: dict[str, int]) -> dict:
    """Read the claimed jobs' rows in one transaction, then fetch and decode their photos concurrently.

    Returns job id -> Prepared, or "failed"/"skipped" for a photo that cannot be used (the job
    fails with the reason and the upload is deleted), or the exception that stopped the job.
    """
    config = current_app.config
    store, max_bytes = get_store(), config["UPLOAD_MAX_BYTES"]
    jobs = {job.id: job for job in db.session.scalars(
        select(Job).where(Job.id.in_(list(claims))).options(selectinload(Job.photo), selectinload(Job.product)))}
    out, plans = {}, []
    for job_id, attempt in claims.items():
        job = jobs.get(job_id)
        if job is None:
            out[job_id] = LookupError(f"job {job_id} is gone")
            continue
        plans.append((job_id, attempt, job.photo.object_key, generation_options(job)))
    db.session.commit()  # no transaction (and no row lock) held while storage and the models run

    def fetch(key: str):
        data = store.read(key, max_bytes=max_bytes)
        if len(data) > max_bytes:
            raise BadPhoto("The photo is larger than allowed.")
        return decode_photo(data)

    images = concurrently(fetch, [plan[2] for plan in plans])
    for (job_id, attempt, source_key, options), image in zip(plans, images, strict=True):
        if isinstance(image, BadPhoto):
            bind_log_ids(job_id=job_id)
            out[job_id] = _unusable(job_id, attempt, source_key, str(image))
        elif isinstance(image, Exception):
            out[job_id] = image
        else:
            out[job_id] = Prepared(job_id, attempt, source_key, image, options)
    return out


def _unusable(job_id: str, attempt: int, source_key: str, reason: str) -> str:
    """Fail the job with the reason and delete the upload: nothing unusable is kept."""
    if not fail_claimed(job_id, attempt, reason):
        return "skipped"
    try:
        get_store().delete(source_key)
    except Exception as delete_exc:
        log.warning("job %s: unusable photo %s not deleted: %s", job_id, source_key, delete_exc)
    return "failed"


def _store_copies(store, prepared: Prepared) -> Copies:
    """Write the thumbnail and the clean copy of one photo (run on a storage thread).

    Stored copies are re-encoded from pixels: upright, no metadata. Keys are derived from the
    upload's, so a second run writes the same objects."""
    source_key, image = prepared.source_key, prepared.image
    already_clean = source_key.endswith(CLEAN_SUFFIX)
    base = source_key[:-len(CLEAN_SUFFIX)] if already_clean else source_key.rsplit(".", 1)[0]
    copies = Copies(base + THUMB_SUFFIX, base + CLEAN_SUFFIX, None)
    store.write(copies.thumb_key, thumbnail_jpeg(image), "image/jpeg")
    if not already_clean:
        clean = stored_jpeg(image)
        store.write(copies.clean_key, clean, "image/jpeg")
        copies.clean_size = len(clean)
    return copies


def _finish_all(batch: list[Prepared], results: list[dict], share: float, clock: list) -> dict:
    """Store every photo's copies, then the listings in one transaction; job id -> outcome or exception.

    Appends the time after each step to ``clock`` (for the batch's log line)."""
    check_time()
    store = get_store()
    outcomes, done = {}, []
    stored = concurrently(lambda p: _store_copies(store, p), batch)
    for prepared, result, copies in zip(batch, results, stored, strict=True):
        INFERENCE_SECONDS.labels(result["model_version"]).observe(share)
        if isinstance(copies, Exception):
            outcomes[prepared.job_id] = copies
        else:
            done.append((prepared, copies, result))
    clock.append(time.perf_counter())
    readied = {}  # job id -> (photo id, seconds from queued to ready, product id)
    outcomes.update(_write_results(done, share, readied))
    clock.append(time.perf_counter())

    # The browser's bytes go once the clean copy replaces them: one request for the batch.
    replaced = [p for p, c, _ in done if p.job_id in readied and c.clean_size is not None]
    try:
        errors = store.delete_many([p.source_key for p in replaced])
    except Exception as exc:
        errors = {p.source_key: exc for p in replaced}
    for prepared in replaced:
        if prepared.source_key in errors:
            log.warning("job %s: original %s not deleted: %s", prepared.job_id, prepared.source_key,
                        errors[prepared.source_key])
    clock.append(time.perf_counter())
    for job_id, (photo_id, waited, product_id) in readied.items():
        if waited is not None:
            UPLOAD_TO_READY_SECONDS.observe(waited)
        queue_heatmap(photo_id)  # Grad-CAM for the admin review page, as a task on its own queue
        bind_log_ids(job_id=job_id, product_id=product_id)
        log.info("job %s ready in %d ms", job_id, int(share * 1000))
    return outcomes


def _write_results(done: list, share: float, readied: dict) -> dict:
    """Every listing in one transaction; if a result already exists for one of the jobs (a
    duplicate run), one transaction each, so that only that job is skipped."""
    if len(done) > 1:
        try:
            return _write_together(done, share, readied)
        except IntegrityError:
            db.session.rollback()
            readied.clear()
    out = {}
    for prepared, copies, result in done:
        try:
            out[prepared.job_id] = _write_one(prepared, copies, result, share, readied)
        except Exception as exc:
            _reset_session()
            out[prepared.job_id] = exc
    return out


def _write_together(done: list, share: float, readied: dict) -> dict:
    """Lock the batch's job rows (in id order), record the result of each this run still holds."""
    ids = sorted(p.job_id for p, _, _ in done)
    jobs = {job.id: job for job in db.session.scalars(
        select(Job).where(Job.id.in_(ids)).order_by(Job.id).with_for_update()
        # Loaded with the batch rather than one query per job and relation.
        .options(selectinload(Job.photo), selectinload(Job.product), selectinload(Job.listing))
        .execution_options(populate_existing=True))}
    out = {}
    for prepared, copies, result in done:
        job = jobs.get(prepared.job_id)
        if job is None or job.state != "processing" or job.attempts != prepared.attempt:
            log.info("job %s: attempt %d no longer holds it; result dropped", prepared.job_id, prepared.attempt)
            out[prepared.job_id] = "skipped"
            continue
        readied[job.id] = _record(job, prepared, copies, result, share)
        out[prepared.job_id] = "ready"
    db.session.commit()
    return out


def _write_one(prepared: Prepared, copies: Copies, result: dict, share: float, readied: dict) -> str:
    job = owned(prepared.job_id, prepared.attempt)
    if job is None:
        return "skipped"
    facts = _record(job, prepared, copies, result, share)
    try:
        db.session.commit()
    except IntegrityError:  # a result for this job exists already
        db.session.rollback()
        return "skipped"
    readied[prepared.job_id] = facts
    return "ready"


def _record(job: Job, prepared: Prepared, copies: Copies, result: dict, elapsed: float) -> tuple:
    """The photo's stored copies, the generated listing and the product's text, on a job this run
    holds; returns (photo id, seconds from queued to ready, product id) for after the commit."""
    photo = job.photo
    photo.width, photo.height = prepared.image.size
    photo.thumbnail_key = copies.thumb_key
    if copies.clean_size is not None:
        photo.object_key, photo.content_type, photo.size_bytes = copies.clean_key, "image/jpeg", copies.clean_size
    db.session.add(GeneratedListing(
        job=job, attributes=result["attributes"], title=result["title"],
        description=result["description"], tags=result["tags"],
        model_version=result["model_version"], inference_ms=int(elapsed * 1000)))
    if result.get("embedding") is not None:  # for "more like this" and duplicate photos
        record_embedding(photo.id, result["embedding"], result["model_version"])
    # The artisan's copy takes the generated text, except fields a person wrote (unless
    # they asked this run to replace them).
    apply_generated(job, result)
    job.state, job.finished_at, job.error = "ready", utcnow(), None
    waited = (job.finished_at - job.queued_at).total_seconds() if job.queued_at else None
    return job.photo_id, waited, job.product_id
