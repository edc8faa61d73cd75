"""Failed jobs for the operations page, and sending one back to the queue."""
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp import job_lifecycle
from webapp.extensions import db
from webapp.logging_setup import bind_log_ids
from webapp.metrics import JOBS_REQUEUED
from webapp.models import Job, Product

# What the admin reads when a job cannot be re-queued (job_lifecycle.RequeueRefused.why).
REFUSALS = {"not failed": "Only failed jobs can be re-queued; this one is {state}.",
            "photo gone": "The photo is no longer in storage; the artisan needs to upload it again."}


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
    try:
        job_lifecycle.requeue(job)
    except job_lifecycle.RequeueRefused as exc:
        raise RequeueRefused(REFUSALS[exc.why].format(state=job.state)) from exc
    JOBS_REQUEUED.inc()
    return job
