"""What the operations page and the scrape-time gauges read from the jobs table and the model bundle."""
import json
import statistics
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Job, utcnow

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


def promoted_model(model_dir) -> dict | None:
    """The promoted bundle's version and numeric evaluation metrics, from MODEL_DIR/meta.json."""
    path = Path(model_dir) / "meta.json"
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    version = str(meta.get("version") or meta.get("model_version") or Path(model_dir).resolve().name)
    return {"version": version, "metrics": _numbers(meta.get("metrics") or {}),
            "trained_at": meta.get("trained_at") or meta.get("created_at"), "path": str(model_dir)}


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
