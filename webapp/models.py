"""Database tables: artisans, their products, the photos, the generation jobs and what they produced."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import JSON, Computed, DateTime, ForeignKey, LargeBinary, Numeric, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.auth.passwords import hash_password, verify_password
from webapp.extensions import db
from webapp.poll_cache import forget_after_commit


def utcnow() -> datetime:
    # Stored naive in UTC: MySQL DATETIME has no time zone.
    return datetime.now(UTC).replace(tzinfo=None)


def new_id() -> str:
    return uuid.uuid4().hex


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Part of the id in every session and remember-me cookie (get_id): moving it on ends them
    # all, server-side (sign out, sign out everywhere, password change or reset).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Shown to customers on the artisan's listings and shop page; never their email.
    shop_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the owner of the address follows an emailed link (registration or password
    # reset); an account without it cannot sign in (webapp/auth/signup.py).
    email_verified_at: Mapped[datetime | None]

    products: Mapped[list[Product]] = relationship(back_populates="owner", foreign_keys="Product.owner_id")

    @property
    def display_shop_name(self) -> str:
        return self.shop_name or f"Artisan #{self.id}"

    def get_id(self) -> str:
        """Flask-Login's "alternative token": the id and the session version (webapp/auth/routes.py)."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    def end_sessions(self) -> None:
        """Every session cookie made before this stops working at its next request (the status
        poll's cached version too, forgotten once this commits: webapp/poll_cache.py)."""
        self.session_version = (self.session_version or 0) + 1
        if self.id is not None:
            forget_after_commit(accounts=[self.id])

    def set_password(self, password: str, wait: float | None = None) -> None:
        # One hash at a time per process; `wait` bounds the wait for a turn (webapp/auth/passwords.py).
        self.password_hash = hash_password(password, wait)

    def check_password(self, password: str, wait: float | None = None) -> bool:
        return verify_password(self.password_hash, password, wait)


class Product(db.Model):
    """A piece of jewellery an artisan is listing; the editable copy of the listing.

    status: draft -> in_review (artisan submits) -> approved (a person publishes) | rejected.
    """
    __tablename__ = "products"
    STATUSES = ("draft", "in_review", "approved", "rejected")
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    title: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list | None] = mapped_column(JSON)
    attributes: Mapped[dict | None] = mapped_column(JSON)
    # Fields a person wrote ("title", "tags", "attributes.metal" ...): regeneration leaves them alone.
    edited_fields: Mapped[list | None] = mapped_column(JSON)
    tone: Mapped[str] = mapped_column(String(20), default="elegant")
    length: Mapped[str] = mapped_column(String(20), default="medium")
    # The seller's facts (webapp/listings/seller_facts.py): only a person fills them; the text quotes them.
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None]
    sku: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(120))
    weight: Mapped[str | None] = mapped_column(String(60))
    materials: Mapped[str | None] = mapped_column(String(200))
    technique: Mapped[str | None] = mapped_column(String(120))
    origin: Mapped[str | None] = mapped_column(String(120))
    care: Mapped[str | None] = mapped_column(String(300))
    story: Mapped[str | None] = mapped_column(String(500))
    # Copied from `attributes` on every change so the catalogue and the queue can filter and sort in SQL.
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    metal: Mapped[str | None] = mapped_column(String(40), index=True)
    min_confidence: Mapped[float | None] = mapped_column(index=True)
    rejection_reason: Mapped[str | None] = mapped_column(String(500))
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship(back_populates="products", foreign_keys=[owner_id])
    photos: Mapped[list[Photo]] = relationship(back_populates="product", order_by="Photo.id")
    jobs: Mapped[list[Job]] = relationship(back_populates="product", order_by="Job.created_at")

    @property
    def latest_job(self) -> Job | None:
        return self.jobs[-1] if self.jobs else None


class Photo(db.Model):
    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    original_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    thumbnail_key: Mapped[str | None] = mapped_column(String(512), index=True)  # the orphan sweep reads it
    # The upload's ETag when it was confirmed: the worker reads only those bytes, so a signed
    # form replayed before processing cannot swap the photo (None once the clean copy replaced it).
    upload_etag: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="photos")


REGENERATING = "CASE WHEN kind = 'regenerate' AND state IN ('queued', 'processing') THEN product_id END"


class Job(db.Model):
    """One listing-generation run; the row is the source of truth for its state."""
    __tablename__ = "jobs"
    STATES = ("awaiting_upload", "queued", "processing", "ready", "failed")

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id"))
    state: Mapped[str] = mapped_column(String(20), default="awaiting_upload", index=True)
    # "upload" (a product's first photo), "photo" (one added later), "regenerate" (new text on request).
    kind: Mapped[str] = mapped_column(String(20), default="upload")
    tone: Mapped[str | None] = mapped_column(String(20))
    length: Mapped[str | None] = mapped_column(String(20))
    # Person-edited fields the artisan asked this run to replace; all others they wrote are kept.
    replace_fields: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(default=0)
    task_id: Mapped[str | None] = mapped_column(String(64))
    # Microseconds on MySQL too: a product's jobs are ordered by it, and a fast worker can
    # finish one job and start the next within the same second.
    created_at: Mapped[datetime] = mapped_column(
        DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql"), default=utcnow, index=True)
    queued_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The product while this is a regeneration still to run, else NULL: its unique index lets
    # the database, not a check-then-insert, keep one regeneration per product at a time.
    regenerating_product_id: Mapped[int | None] = mapped_column(
        Computed(REGENERATING, persisted=False), unique=True)

    product: Mapped[Product] = relationship(back_populates="jobs")
    photo: Mapped[Photo] = relationship()
    listing: Mapped[GeneratedListing | None] = relationship(back_populates="job", uselist=False)


class GeneratedListing(db.Model):
    """What the models produced for a job, kept unchanged so edits can be compared with it."""
    __tablename__ = "generated_listings"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), unique=True)
    attributes: Mapped[dict] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    tags: Mapped[list] = mapped_column(JSON)
    model_version: Mapped[str] = mapped_column(String(64))
    inference_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    job: Mapped[Job] = relationship(back_populates="listing")


class PhotoHeatmap(db.Model):
    """Where the image model looked for the category (Grad-CAM overlay PNG), per photo; written by
    workers/explain.py."""
    __tablename__ = "photo_heatmaps"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    object_key: Mapped[str] = mapped_column(String(512))
    model_version: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PhotoEmbedding(db.Model):
    """The image model's embedding of a photo (float16 bytes), written by the worker with the
    listing; the catalogue's "more like this" and the review page's duplicate check search them."""
    __tablename__ = "photo_embeddings"
    photo_id: Mapped[int] = mapped_column(ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(64))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(db.Model):
    """A token for the JSON API; only its SHA-256 is stored, the token is shown once."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
