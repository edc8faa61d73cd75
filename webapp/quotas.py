"""Quotas per account, counted in the database across every credential it has.

Rate limits (webapp/limits.py) count requests per session or per token over minutes; a
quota counts what the account owns or started over the last hour, so a second token or
the web session buys nothing more. Each setting (webapp/settings.py) at 0 means no quota.
Counts are read before the new row is written: two requests at the same instant may
both pass at the edge, which a quota tolerates (the one-regeneration-per-product rule,
which must hold exactly, is a unique index instead: migration 0006).
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Job, Photo, Product, utcnow

HOUR = timedelta(hours=1)


class QuotaReached(Exception):
    """The account has used up one of its quotas; the message says which and what to do."""


def _quota(name: str) -> int:
    return int(current_app.config.get(name) or 0)


def _jobs_last_hour(owner_id: int, kinds) -> int:
    return db.session.scalar(
        select(func.count(Job.id)).join(Product, Product.id == Job.product_id)
        .where(Product.owner_id == owner_id, Job.kind.in_(kinds), Job.created_at >= utcnow() - HOUR))


def check_upload(owner_id: int, size: int, new_product: bool) -> None:
    """Refuse an upload that would go past the account's uploads per hour, products or bytes."""
    per_hour = _quota("QUOTA_UPLOADS_PER_HOUR")
    if per_hour and _jobs_last_hour(owner_id, ("upload", "photo")) >= per_hour:
        raise QuotaReached(f"You have started {per_hour} uploads in the last hour, the most an account "
                           "may; please try again later.")
    products = _quota("QUOTA_PRODUCTS")
    if new_product and products and db.session.scalar(
            select(func.count(Product.id)).where(Product.owner_id == owner_id)) >= products:
        raise QuotaReached(f"Your account has {products} products, the most it may hold; delete some "
                           "to add new ones.")
    max_bytes = _quota("QUOTA_BYTES")
    if max_bytes:
        stored = db.session.scalar(
            select(func.coalesce(func.sum(Photo.size_bytes), 0)).join(Product, Product.id == Photo.product_id)
            .where(Product.owner_id == owner_id))
        if stored + size > max_bytes:
            raise QuotaReached(f"Your photos take {stored / 2**20:.0f} MB of the {max_bytes / 2**20:.0f} MB an "
                               "account may store; delete some photos or products to add this one.")


def check_regeneration(owner_id: int) -> None:
    per_hour = _quota("QUOTA_REGENERATIONS_PER_HOUR")
    if per_hour and _jobs_last_hour(owner_id, ("regenerate",)) >= per_hour:
        raise QuotaReached(f"You have asked for {per_hour} new versions in the last hour, the most an "
                           "account may; please try again later.")
