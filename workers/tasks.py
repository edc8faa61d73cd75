"""Celery tasks: turn an uploaded photo into a generated listing."""
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from webapp.extensions import db
from webapp.listings.merge import apply_generated, generation_options
from webapp.logging_setup import bind_log_ids
from webapp.metrics import INFERENCE_SECONDS, JOBS_FINISHED, UPLOAD_TO_READY_SECONDS
from webapp.models import GeneratedListing, Job, utcnow
from webapp.products.uploads import fail_job
from webapp.storage import get_store
from workers.models import get_generator
from workers.photos import BadPhoto, decode_photo, thumbnail_jpeg

log = logging.getLogger(__name__)
TRANSIENT = (BotoCoreError, ClientError, OperationalError, ConnectionError)


@shared_task(bind=True, name="workers.tasks.process_upload", max_retries=6)
def process_upload(self, job_id: str) -> str:
    """Decode the photo, run the models and store the listing; safe to run twice."""
    job = db.session.get(Job, job_id)
    bind_log_ids(job_id=job_id, product_id=job.product_id if job else None)
    if job is None or job.state in ("ready", "failed"):
        return job.state if job else "missing"
    job.state, job.started_at = "processing", utcnow()
    job.attempts += 1
    db.session.commit()
    try:
        outcome = _process(job)
    except TRANSIENT as exc:
        db.session.rollback()
        if self.request.retries >= self.max_retries:
            log.exception("job %s failed after %d retries", job_id, self.request.retries)
            fail_job(job, "Storage or database was unavailable for too long. Please retry.")
            JOBS_FINISHED.labels("failed").inc()
            return "failed"
        job.state = "queued"
        db.session.commit()
        JOBS_FINISHED.labels("retry").inc()
        # Exponential backoff: 2, 4, 8 ... seconds, capped at a minute.
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1)))
    except Exception:
        db.session.rollback()
        log.exception("job %s failed", job_id)
        fail_job(job, "Something went wrong while reading this photo. Please try again.")
        JOBS_FINISHED.labels("failed").inc()
        return "failed"
    JOBS_FINISHED.labels(outcome).inc()
    return outcome


def _process(job: Job) -> str:
    store = get_store()
    photo = job.photo
    data = store.read(photo.object_key, max_bytes=current_app.config["UPLOAD_MAX_BYTES"])
    try:
        image = decode_photo(data)
    except BadPhoto as exc:
        store.delete(photo.object_key)  # nothing unusable is kept
        fail_job(job, str(exc))
        return "failed"
    photo.width, photo.height = image.size
    thumb_key = photo.object_key.rsplit(".", 1)[0] + ".thumb.jpg"
    store.write(thumb_key, thumbnail_jpeg(image), "image/jpeg")
    photo.thumbnail_key = thumb_key

    started = time.perf_counter()
    result = get_generator().generate([image], **generation_options(job))[0]
    elapsed = time.perf_counter() - started
    elapsed_ms = int(elapsed * 1000)
    INFERENCE_SECONDS.labels(result["model_version"]).observe(elapsed)

    db.session.add(GeneratedListing(
        job=job, attributes=result["attributes"], title=result["title"],
        description=result["description"], tags=result["tags"],
        model_version=result["model_version"], inference_ms=elapsed_ms))
    # The artisan's copy takes the generated text, except fields a person wrote (unless
    # they asked this run to replace them).
    apply_generated(job, result)
    job.state, job.finished_at, job.error = "ready", utcnow(), None
    db.session.commit()
    if job.queued_at:
        UPLOAD_TO_READY_SECONDS.observe((job.finished_at - job.queued_at).total_seconds())
    log.info("job %s ready in %d ms", job.id, elapsed_ms)
    return "ready"
