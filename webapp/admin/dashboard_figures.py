"""Numbers for the admin dashboard, computed from the database on request."""
from datetime import timedelta
from statistics import median

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.history_tables import ListingDiff
from webapp.listings.merge import is_low_confidence
from webapp.models import GeneratedListing, Job, Product, utcnow


def listings_per_day(days: int) -> list[dict]:
    """Products created per day, split by their current state, oldest day first."""
    since = utcnow() - timedelta(days=days)
    day = func.date(Product.created_at)
    rows = db.session.execute(select(day, Product.status, func.count())
                              .where(Product.created_at >= since).group_by(day, Product.status)).all()
    table: dict[str, dict] = {}
    for when, status, count in rows:
        table.setdefault(str(when), {})[status] = count
    return [{"day": d, **{s: table[d].get(s, 0) for s in Product.STATUSES}} for d in sorted(table)]


def median_upload_to_ready_seconds(days: int) -> float | None:
    """From the upload being signed to the listing being ready, first photos only."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.execute(select(Job.created_at, Job.finished_at).where(
        Job.kind == "upload", Job.state == "ready", Job.created_at >= since)).all()
    spans = [(done - start).total_seconds() for start, done in rows if done]
    return median(spans) if spans else None


def share_approved_without_edits(days: int) -> tuple[float | None, int]:
    """Of the listings approved, how many went out exactly as generated."""
    since = utcnow() - timedelta(days=days)
    rows = db.session.scalars(select(ListingDiff.changed_fields).where(
        ListingDiff.stage == "approved", ListingDiff.created_at >= since)).all()
    if not rows:
        return None, 0
    return sum(1 for changed in rows if not changed) / len(rows), len(rows)


def share_low_confidence(days: int, limit: float) -> tuple[float | None, int]:
    """Of all attributes the models predicted, the share under the confidence threshold."""
    since = utcnow() - timedelta(days=days)
    total = low = 0
    for attributes in db.session.scalars(select(GeneratedListing.attributes)
                                         .where(GeneratedListing.created_at >= since)):
        for attr in (attributes or {}).values():
            total += 1
            low += is_low_confidence(attr, limit)
    return (low / total if total else None), total
