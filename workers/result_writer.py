"""What a batch leaves behind: each photo's stored copies, every listing in one transaction,
then the browser's originals deleted. Each function returns what it did; none fills in an
argument."""
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from webapp import job_lifecycle
from webapp.extensions import db
from webapp.listings.embeddings import record_embedding
from webapp.listings.merge import apply_generated
from webapp.models import GeneratedListing, Job
from webapp.storage import copy_keys
from workers.concurrency import Deadline, concurrently
from workers.photos import stored_jpeg, thumbnail_jpeg

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """A claimed job and its photo (``image`` set once decoded), ready for the models."""
    job_id: str
    attempt: int
    product_id: int
    photo_id: int
    queued_at: object  # datetime or None, for the queue-to-ready time
    source_key: str
    image: object
    options: dict
    source_etag: str | None = None  # the upload's ETag at confirm (Photo.upload_etag)


@dataclass
class Copies:
    """The objects written for a processed photo (``clean_size`` None: the upload was already clean)."""
    thumb_key: str
    clean_key: str
    clean_size: int | None


@dataclass
class Done:
    """A photo through the models, with its copies stored: ready to be written."""
    prepared: Prepared
    copies: Copies
    result: dict


def store_copies(store, batch: list[Prepared], deadline: Deadline) -> list:
    """Write the thumbnail and clean copy of every photo concurrently; per photo its Copies or the exception."""
    return concurrently(lambda prepared: _store_copies(store, prepared), batch, deadline)


def _store_copies(store, prepared: Prepared) -> Copies:
    """Stored copies are re-encoded from pixels: upright, no metadata."""
    thumb_key, clean_key, already_clean = copy_keys(prepared.source_key)
    copies = Copies(thumb_key, clean_key, None)
    store.write(thumb_key, thumbnail_jpeg(prepared.image), "image/jpeg")
    if not already_clean:
        clean = stored_jpeg(prepared.image)
        store.write(clean_key, clean, "image/jpeg")
        copies.clean_size = len(clean)
    return copies


def write_listings(done: list[Done], share: float) -> dict:
    """Every listing in one transaction; job id -> "ready", "skipped" or the exception.

    If a result already exists for one of the jobs (a duplicate run), one transaction each,
    so that only that job is skipped."""
    if len(done) > 1:
        try:
            return _write_together(done, share)
        except IntegrityError:
            db.session.rollback()
    out = {}
    for item in done:
        try:
            out[item.prepared.job_id] = _write_one(item, share)
        except Exception as exc:
            reset_session()
            out[item.prepared.job_id] = exc
    return out


def _write_together(done: list[Done], share: float) -> dict:
    """Lock the batch's job rows (in id order), record the result of each this run still holds."""
    ids = sorted(item.prepared.job_id for item in done)
    jobs = {job.id: job for job in db.session.scalars(
        select(Job).where(Job.id.in_(ids)).order_by(Job.id).with_for_update()
        # Loaded with the batch rather than one query per job and relation.
        .options(selectinload(Job.photo), selectinload(Job.product), selectinload(Job.listing))
        .execution_options(populate_existing=True))}
    out = {}
    for item in done:
        job, attempt = jobs.get(item.prepared.job_id), item.prepared.attempt
        if not job_lifecycle.holds(job, attempt):
            log.info("job %s: attempt %d no longer holds it; result dropped", item.prepared.job_id, attempt)
            out[item.prepared.job_id] = "skipped"
            continue
        _record(job, item, share)
        out[item.prepared.job_id] = "ready"
    db.session.commit()
    return out


def _write_one(item: Done, share: float) -> str:
    job = job_lifecycle.owned(item.prepared.job_id, item.prepared.attempt)
    if job is None:
        return "skipped"
    _record(job, item, share)
    try:
        db.session.commit()
    except IntegrityError:  # a result for this job exists already
        db.session.rollback()
        return "skipped"
    return "ready"


def _record(job: Job, item: Done, elapsed: float) -> None:
    """The photo's stored copies, the generated listing and the product's text, on a job this run holds."""
    photo, copies, result = job.photo, item.copies, item.result
    photo.width, photo.height = item.prepared.image.size
    photo.thumbnail_key = copies.thumb_key
    if copies.clean_size is not None:
        photo.object_key, photo.content_type, photo.size_bytes = copies.clean_key, "image/jpeg", copies.clean_size
        photo.upload_etag = None  # the clean copy is the worker's own: no form writes its key
    db.session.add(GeneratedListing(
        job=job, attributes=result["attributes"], title=result["title"],
        description=result["description"], tags=result["tags"],
        model_version=result["model_version"], inference_ms=int(elapsed * 1000)))
    if result.get("embedding") is not None:  # for "more like this" and duplicate photos
        record_embedding(photo.id, result["embedding"], result["model_version"])
    # The artisan's copy takes the generated text, except fields a person wrote (unless
    # they asked this run to replace them).
    apply_generated(job, result)
    job_lifecycle.mark_ready(job)


def delete_originals(store, done: list[Done], outcomes: dict) -> None:
    """The browser's bytes go once the clean copy replaces them: one request for the batch."""
    replaced = [item.prepared for item in done
                if outcomes.get(item.prepared.job_id) == "ready" and item.copies.clean_size is not None]
    try:
        errors = store.delete_many([p.source_key for p in replaced])
    except Exception as exc:
        errors = {p.source_key: exc for p in replaced}
    for prepared in replaced:
        if prepared.source_key in errors:
            log.warning("job %s: original %s not deleted: %s", prepared.job_id, prepared.source_key,
                        errors[prepared.source_key])


def reset_session() -> None:
    """Forget the failed transaction; with the connection gone, rollback itself fails."""
    try:
        db.session.rollback()
    except Exception:
        db.session.close()
