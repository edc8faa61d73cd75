"""The upload lifecycle: sign a direct upload, confirm it arrived, hand it to the worker."""
import logging
import re
import unicodedata

from flask import current_app

from webapp import job_lifecycle
from webapp.extensions import db
from webapp.listings.facts import UnknownValue, checked_facts, set_facts
from webapp.logging_setup import bind_log_ids
from webapp.metrics import UPLOADS_CONFIRMED, UPLOADS_CREATED
from webapp.models import Job, Photo, Product, new_id
from webapp.quotas import QuotaReached, check_upload
from webapp.storage import get_store, object_key

log = logging.getLogger(__name__)

# What the browser may send; the worker decodes the bytes and checks again.
ACCEPTED_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
                  "image/heic": ".heic", "image/heif": ".heif"}
# Types people often try, with the reason they are refused.
REFUSED_TYPES = {
    "image/avif": "AVIF images are an unsupported format.",
    "image/gif": "GIF images, animated or not, are not accepted.",
    "image/svg+xml": "SVG drawings are not accepted.",
}
CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class UploadRefused(Exception):
    """A request the artisan can fix; the message is shown to them."""


def start_upload(owner, filename: str, content_type: str, size: int, product=None, facts=None):
    """Record a draft product (or add to `product`, which the caller checked is the owner's),
    a photo and a job, and sign a POST for the browser.

    `facts` ({attribute: value}, what the artisan already knows) are set on a new product
    as theirs, so the listing written from the photo keeps them.
    """
    max_bytes = current_app.config["UPLOAD_MAX_BYTES"]
    if content_type not in ACCEPTED_TYPES:
        reason = REFUSED_TYPES.get(content_type.lower(), "")
        raise UploadRefused(f"{reason} Please upload a JPEG, PNG, WebP or HEIC photo.".strip())
    if size <= 0:
        raise UploadRefused("This file is empty.")
    if size > max_bytes:
        raise UploadRefused(f"Photos can be at most {max_bytes // (1024 * 1024)} MB.")
    try:
        check_upload(owner.id, size, new_product=product is None)
    except QuotaReached as exc:
        raise UploadRefused(str(exc)) from None
    key = object_key(current_app.config, owner.id, new_id() + ACCEPTED_TYPES[content_type])
    kind = "upload" if product is None else "photo"
    try:
        facts = checked_facts(facts) if product is None else {}
    except UnknownValue as exc:
        raise UploadRefused(str(exc)) from None
    if product is None:
        product = Product(owner=owner)
        set_facts(product, facts)
        db.session.add(product)
    photo = Photo(product=product, object_key=key, content_type=content_type,
                  original_filename=display_filename(filename))
    db.session.add(photo)
    job = job_lifecycle.new_job(product, photo, kind)
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
    if not job.photo.object_key.startswith(object_key(current_app.config, job.product.owner_id, "")):
        # Keys are made by the server; one outside the owner's prefix means a tampered row.
        log.warning("job %s: object key outside its owner's prefix", job.id)
        raise UploadRefused("This upload does not belong to your account.")
    store = get_store()
    head = store.head(job.photo.object_key)
    if head is None:
        raise UploadRefused("The photo has not arrived in storage yet. Please upload it again.")
    if not 0 < head["size"] <= current_app.config["UPLOAD_MAX_BYTES"]:
        store.delete(job.photo.object_key)
        job_lifecycle.fail(job, "The photo is empty or larger than allowed.")
        return job
    job.photo.size_bytes = head["size"]
    # The form can be sent again until it expires: the worker reads only what was confirmed.
    job.photo.upload_etag = head.get("etag")
    job_lifecycle.queue(job)
    UPLOADS_CONFIRMED.inc()
    log.info("upload confirmed, job %s queued", job.id)
    return job


def cancel_upload(job: Job) -> None:
    """Forget an upload the store refused or the artisan abandoned: rows and any object."""
    if job.state != "awaiting_upload":
        raise UploadRefused("This upload is already being processed.")
    discard_upload(job)


def discard_upload(job: Job) -> None:
    """Delete an unconfirmed upload's object, then its job, photo and (if now empty) product.

    The object goes first: if storage is unreachable this raises and the rows stay, so a
    later try (the artisan's, or the reaper's) still knows which object to delete.
    """
    get_store().delete(job.photo.object_key)
    product, photo = job.product, job.photo
    job_lifecycle.delete_job(job)
    db.session.delete(photo)
    others = [p for p in product.photos if p is not photo] + [j for j in product.jobs if j is not job]
    if not others:
        db.session.delete(product)
    db.session.commit()


def display_filename(filename: str) -> str | None:
    """The browser's file name, for display only: last path part, no control characters, 255 max.

    It is never used in a storage key or a file system path.
    """
    name = unicodedata.normalize("NFC", str(filename or ""))
    name = CONTROL_CHARS.sub("", re.split(r"[/\\]", name)[-1]).strip()
    return name[:255] or None
