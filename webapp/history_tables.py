"""Tables of what people did with listings and said about them: audit events, ratings,
generated-vs-final text diffs and customer reports. Retraining and the admin pages read them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models import GeneratedListing, Product, utcnow


class AuditEvent(db.Model):
    """One state change: who (None = the system or the worker), when, what changed.

    No foreign keys on purpose: the history outlives the rows it talks about.
    """
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(index=True)
    product_id: Mapped[int | None] = mapped_column(index=True)
    job_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(40), index=True)
    changes: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ListingRating(db.Model):
    """An artisan's verdict on generated text: useful or not, with an optional comment."""
    __tablename__ = "listing_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    generated_listing_id: Mapped[int] = mapped_column(ForeignKey("generated_listings.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    useful: Mapped[bool]
    comment: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    generated: Mapped[GeneratedListing] = relationship()


class ListingDiff(db.Model):
    """Generated text against the text a person settled on, at submission and at approval.

    `fields` maps each field to {"generated", "final", "diff"}; `changed_fields` lists the
    ones a person changed. Retraining reads these rows.
    """
    __tablename__ = "listing_diffs"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    generated_listing_id: Mapped[int] = mapped_column(ForeignKey("generated_listings.id"))
    stage: Mapped[str] = mapped_column(String(20))  # "submitted" or "approved"
    fields: Mapped[dict] = mapped_column(JSON)
    changed_fields: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InaccuracyReport(db.Model):
    """A customer's note that a published listing is wrong; it reaches the admin queue."""
    __tablename__ = "inaccuracy_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Who sent it, as a keyed hash of their address: one report per visitor per listing.
    reporter: Mapped[str | None] = mapped_column(String(64))
    # An admin agreed the listing is wrong: only then is it kept out of training (until resolved).
    confirmed_at: Mapped[datetime | None]
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (UniqueConstraint("product_id", "reporter", name="uq_report_per_visitor"),)

    product: Mapped[Product] = relationship()

