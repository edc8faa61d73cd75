"""Tables of the training package (workers/training/): examples to learn from and the model registry."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models import utcnow

# The attributes a training item can carry a label for, one column each: every attribute of
# the default taxonomy (ml/taxonomy.py; tests/test_training.py checks none is missing).
LABEL_ATTRIBUTES = ("category", "metal", "gemstone", "style", "colour", "type", "finish", "stone_count")


class TrainingItem(db.Model):
    """One labelled photo to learn from, with where it came from.

    `source` is "mysql", "folder" or "feedback"; (`source`, `source_id`) makes imports
    idempotent and `fingerprint` (SHA-256 of the image bytes) finds the same photo
    arriving twice. Empty attribute columns mean "unknown", never "none".
    """
    __tablename__ = "training_items"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_training_items_source"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(191))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    image_key: Mapped[str] = mapped_column(String(512))
    category: Mapped[str | None] = mapped_column(String(40))
    metal: Mapped[str | None] = mapped_column(String(40))
    gemstone: Mapped[str | None] = mapped_column(String(40))
    style: Mapped[str | None] = mapped_column(String(40))
    colour: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[str | None] = mapped_column(String(40))  # the finer kind within the category (bangle, stud)
    finish: Mapped[str | None] = mapped_column(String(40))
    stone_count: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    tone: Mapped[str | None] = mapped_column(String(20))
    # e.g. {"table": "products", "row": 12} or {"product_id": 3, "edited_fields": [...], "reports": 0}
    provenance: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def labels(self) -> dict[str, str | None]:
        return {a: getattr(self, a) for a in LABEL_ATTRIBUTES}


class LabelMapping(db.Model):
    """An admin's rule for an imported label: ``raw`` (lower-cased) of ``attribute`` means ``value``
    (``rings`` -> ``ring``, ``pendientes`` -> ``earrings``)."""
    __tablename__ = "label_mappings"
    __table_args__ = (UniqueConstraint("attribute", "raw", name="uq_label_mapping"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    attribute: Mapped[str] = mapped_column(String(32))
    raw: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModelVersion(db.Model):
    """A trained bundle in object storage; exactly one row is `promoted` once any exists.

    status: candidate (trained, not promoted) | promoted | retired (was promoted) | rejected (gate said no).
    """
    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    object_key: Mapped[str] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(20), default="candidate", index=True)
    metrics: Mapped[dict | None] = mapped_column(JSON)
    label_set: Mapped[dict | None] = mapped_column(JSON)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The promotion gate's comparison with the version promoted at the time.
    gate: Mapped[dict | None] = mapped_column(JSON)
    # The version's taxonomy (ml.taxonomy JSON): what the web offers while it is promoted.
    taxonomy: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None]

