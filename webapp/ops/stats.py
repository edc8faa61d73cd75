"""What the operations page and the scrape-time gauges read from the jobs table and the model registry."""
import statistics
from datetime import timedelta

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Job, utcnow
from workers.training import registry

JOB_STATES = Job.STATES


def job_counts() -> dict:
    """Jobs by state, over the whole table."""
    rows = db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: count for state, count in rows}


def last_hour() -> dict:
    """Throughput and failures over the last hour, and how long a ready job took from queue to ready."""
    since = utcnow() - timedelta(hours=1)
    finished = dict(db.session.execute(
        select(Job.state, func.count()).where(Job.finished_at >= since).group_by(Job.state)).all())
    created = db.session.scalar(select(func.count()).select_from(Job).where(Job.created_at >= since))
    rows = db.session.execute(
        select(Job.queued_at, Job.finished_at)
        .where(Job.state == "ready", Job.finished_at >= since, Job.queued_at.is_not(None))
        .limit(10_000)).all()
    durations = sorted((done - queued).total_seconds() for queued, done in rows)
    ready, failed = finished.get("ready", 0), finished.get("failed", 0)
    return {
        "created": created,
        "ready": ready,
        "failed": failed,
        "failure_rate": failed / (ready + failed) if ready + failed else None,
        "median_seconds": statistics.median(durations) if durations else None,
        "p95_seconds": durations[int(0.95 * (len(durations) - 1))] if durations else None,
    }


def promoted_model(config) -> dict | None:
    """The version workers serve (workers/training/registry.py) with its numeric metrics flattened."""
    meta = registry.promoted_meta(config)
    if meta is None:
        return None
    return {**meta, "metrics": _numbers(meta["metrics"])}


def _numbers(tree, prefix="") -> dict:
    """Flatten nested metrics to {"a.b": number}, keeping numbers only."""
    out = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_numbers(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out
