"""The upload lifecycle: sign a direct upload, confirm it arrived, hand it to the worker."""
import logging
import os

from flask import current_app

from webapp.extensions import db
from webapp.logging_setup import bind_log_ids
from webapp.metrics import UPLOADS_CONFIRMED, UPLOADS_CREATED
from webapp.models import Job, Photo, Product, new_id, utcnow
from webapp.storage import get_store, object_key

log = logging.getLogger(__name__)

# What the browser may send; the worker decodes the bytes and checks again.
ACCEPTED_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class UploadRefused(Exception):
    """A request the artisan can fix; the message is shown to them."""


def start_upload(owner, filename: str, content_type: str, size: int, product=None):
    """Record a draft product (or add to `product`, which the caller checked is the owner's),
    a photo and a job, and sign a POST for the browser."""
    max_bytes = current_app.config["UPLOAD_MAX_BYTES"]
    if content_type not in ACCEPTED_TYPES:
        raise UploadRefused("Please upload a JPEG, PNG or WebP photo.")
    if size <= 0:
        raise UploadRefused("This file is empty.")
    if size > max_bytes:
        raise UploadRefused(f"Photos can be at most {max_bytes // (1024 * 1024)} MB.")
    key = object_key(current_app.config, owner.id, new_id() + ACCEPTED_TYPES[content_type])
    kind = "upload" if product is None else "photo"
    if product is None:
        product = Product(owner=owner)
        db.session.add(product)
    photo = Photo(product=product, object_key=key, content_type=content_type,
                  original_filename=os.path.basename(filename or "")[:255] or None)
    job = Job(product=product, photo=photo, kind=kind)
    db.session.add_all([photo, job])
    db.session.commit()
    UPLOADS_CREATED.inc()
    bind_log_ids(job_id=job.id, product_id=product.id)
    post = get_store().presign_upload(key, content_type, max_bytes,
                                      current_app.config["UPLOAD_URL_TTL"])
    return job, post


def confirm_upload(job: Job) -> Job:
    """Check the object is in the store, then queue the job (recorded before it is sent)."""
    bind_log_ids(job_id=job.id, product_id=job.product_id)
    if job.state != "awaiting_upload":
        return job  # confirming twice is harmless
    store = get_store()
    head = store.head(job.photo.object_key)
    if head is None:
        raise UploadRefused("The photo has not arrived in storage yet. Please upload it again.")
    if not 0 < head["size"] <= current_app.config["UPLOAD_MAX_BYTES"]:
        store.delete(job.photo.object_key)
        fail_job(job, "The photo is empty or larger than allowed.")
        return job
    job.photo.size_bytes = head["size"]
    job.state, job.queued_at = "queued", utcnow()
    db.session.commit()
    UPLOADS_CONFIRMED.inc()
    log.info("upload confirmed, job %s queued", job.id)
    send_job(job)
    return job


def send_job(job: Job) -> None:
    """Publish the job to the broker; if that fails the row stays queued for a retry."""
    from workers.tasks import process_upload

    try:
        result = process_upload.apply_async(args=[job.id], queue=current_app.config["CELERY_QUEUE"])
    except Exception:  # broker down: the job is safe in the database
        log.exception("could not queue job %s", job.id)
        return
    job.task_id = result.id
    db.session.commit()


def fail_job(job: Job, reason: str) -> None:
    job.state, job.error, job.finished_at = "failed", reason[:500], utcnow()
    db.session.commit()


def cancel_upload(job: Job) -> None:
    """Forget an upload the store refused or the artisan abandoned: rows and any object."""
    if job.state != "awaiting_upload":
        raise UploadRefused("This upload is already being processed.")
    get_store().delete(job.photo.object_key)
    product, photo = job.product, job.photo
    db.session.delete(job)
    db.session.delete(photo)
    if len(product.photos) <= 1:
        db.session.delete(product)
    db.session.commit()
