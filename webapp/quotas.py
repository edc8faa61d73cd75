"""Quotas per account, counted in the database across every credential it has.

Rate limits (webapp/limits.py) count requests per session or per token over minutes; a
quota counts what the account owns or started over the last hour, so a second token or
the web session buys nothing more. Each setting (webapp/settings.py) at 0 means no quota.

A quota holds exactly under parallel requests: each check first locks the account's row
(SELECT ... FOR UPDATE) in a transaction of its own, and the caller's commit of the new
rows releases it, so a second request for the same account counts only after the first
has written or given up. The transaction is new because under REPEATABLE READ (MariaDB's
default) the counts would otherwise read the snapshot taken at the request's first query,
before the other request's rows existed, lock or no lock. Other accounts never wait.
"""
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Job, Photo, Product, User, utcnow

HOUR = timedelta(hours=1)


class QuotaReached(Exception):
    """The account has used up one of its quotas; the message says which and what to do."""


def _quota(name: str) -> int:
    return int(current_app.config.get(name) or 0)


def _lock_account(owner_id: int) -> None:
    """Hold the account's row until the caller commits; counts read after this see every
    row a competing request committed (a new transaction: a new snapshot)."""
    db.session.commit()  # whatever the request did so far; the counts need a fresh snapshot
    db.session.execute(select(User.id).where(User.id == owner_id).with_for_update())


def _jobs_last_hour(owner_id: int, kinds) -> int:
    return db.session.scalar(
        select(func.count(Job.id)).join(Product, Product.id == Job.product_id)
        .where(Product.owner_id == owner_id, Job.kind.in_(kinds), Job.created_at >= utcnow() - HOUR))


def check_upload(owner_id: int, size: int, new_product: bool) -> None:
    """Refuse an upload that would go past the account's uploads per hour, products or bytes.

    Call before writing the upload's rows and commit them after: the account stays locked till then."""
    if not any(_quota(name) for name in ("QUOTA_UPLOADS_PER_HOUR", "QUOTA_PRODUCTS", "QUOTA_BYTES")):
        return
    _lock_account(owner_id)
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
    """Refuse a regeneration past the account's hourly quota (locks the account, as check_upload)."""
    per_hour = _quota("QUOTA_REGENERATIONS_PER_HOUR")
    if per_hour:
        _lock_account(owner_id)
    if per_hour and _jobs_last_hour(owner_id, ("regenerate",)) >= per_hour:
        raise QuotaReached(f"You have asked for {per_hour} new versions in the last hour, the most an "
                           "account may; please try again later.")
