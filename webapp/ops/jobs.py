"""Failed jobs for the operations page, and sending one back to the queue."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.logging_setup import bind_log_ids
from webapp.metrics import JOBS_REQUEUED
from webapp.models import Job, Product, utcnow
from webapp.products.uploads import send_job
from webapp.storage import get_store


class RequeueRefused(Exception):
    """Why a job cannot be re-queued; shown to the admin."""


def recent_failures(limit: int = 20) -> list[Job]:
    return db.session.scalars(
        select(Job).where(Job.state == "failed")
        .options(selectinload(Job.product).selectinload(Product.owner), selectinload(Job.photo))
        .order_by(Job.finished_at.desc()).limit(limit)).all()


def requeue(job: Job) -> Job:
    """Put a failed job back in the queue: the row first (committed), then the broker message."""
    bind_log_ids(job_id=job.id, product_id=job.product_id)
    if job.state != "failed":
        raise RequeueRefused(f"Only failed jobs can be re-queued; this one is {job.state}.")
    if get_store().head(job.photo.object_key) is None:
        raise RequeueRefused("The photo is no longer in storage; the artisan needs to upload it again.")
    job.state, job.error, job.queued_at = "queued", None, utcnow()
    job.started_at = job.finished_at = None
    db.session.commit()
    send_job(job)
    JOBS_REQUEUED.inc()
    return job
