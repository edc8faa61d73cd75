"""Micro-batching: a task that claims its job also takes other queued jobs, up to WORKER_BATCH_MAX.

The models cost much less per photo in a batch (one TFLite run over several images, one
compiled decode for every description), so under load a task takes the oldest queued
jobs with it and runs them together. Each job is claimed the way workers/claims.py claims
one: under a row lock, `processing`, attempts + 1, with this task's id, so the job's own
message, when it arrives, finds it taken and does nothing. If this worker dies, the
redelivered task takes its jobs back (same task id), like claim_job does for its own.
"""
import logging

from sqlalchemy import and_, or_, select, update

from webapp.extensions import db
from webapp.models import Job, utcnow
from webapp.records import AuditEvent

log = logging.getLogger(__name__)


def claim_more(lead_job_id: str, task_id: str | None, limit: int, max_attempts: int) -> list[tuple[str, int]]:
    """Claim up to ``limit`` other waiting jobs for this task; returns ``[(job_id, attempt), ...]``.

    Rows another worker has locked are skipped (SKIP LOCKED), never waited for.
    """
    if limit <= 0 or not task_id:
        return []
    mine = and_(Job.state == "processing", Job.task_id == task_id, Job.attempts < max_attempts)
    jobs = db.session.execute(
        select(Job).where(Job.id != lead_job_id, or_(Job.state == "queued", mine))
        .order_by(Job.queued_at).limit(limit)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).scalars().all()
    claimed = [(job.id, job.attempts + 1) for job in jobs]  # the rows are locked: nobody else moves them
    if claimed:
        # One statement for the batch, not one per job; a bulk UPDATE passes the session's audit
        # hook (webapp/audit.py) by, so the state changes are recorded here, as it would.
        db.session.execute(
            update(Job).where(Job.id.in_([job_id for job_id, _ in claimed]))
            .values(state="processing", started_at=utcnow(), task_id=task_id, attempts=Job.attempts + 1)
            .execution_options(synchronize_session=False))
        db.session.add_all(AuditEvent(actor_id=None, product_id=job.product_id, job_id=job.id, action="job.processing",
                                      changes={"state": [job.state, "processing"]})
                           for job in jobs if job.state != "processing")
    db.session.commit()
    if claimed:
        log.info("task %s took %d more queued jobs", task_id, len(claimed))
    return claimed
