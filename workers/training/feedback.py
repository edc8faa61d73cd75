"""Turn the review workflow's results into training items (source "feedback").

An approved listing teaches its photos' attributes and its final description. An
attribute counts as a label only when a person stands behind it: the artisan confirmed
or edited it, or it was confident enough that nobody was asked (at or above
LOW_CONFIDENCE_THRESHOLD) and a reviewer approved the listing. A listing with an open
customer report teaches nothing until the report is handled.
"""
from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import func, select

from webapp import taxonomy
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport, ListingDiff
from webapp.listings.merge import attribute_field, set_by_person
from webapp.models import Product
from webapp.training_tables import LABEL_ATTRIBUTES, TrainingItem


def trusted_labels(product, threshold: float) -> dict[str, str | None]:
    """Every attribute a training item labels (webapp/training_tables.py), type, finish and
    stone count included: the listing's value where a person stands behind it, else None."""
    edited = set(product.edited_fields or [])
    labels = {}
    tax = taxonomy.current()
    for name in LABEL_ATTRIBUTES:
        attr = (product.attributes or {}).get(name) or {}
        value = attr.get("value")
        trusted = set_by_person(attr) or attribute_field(name) in edited \
            or float(attr.get("confidence") or 0) >= threshold
        labels[name] = value if trusted and tax.knows(name, value) else None
    return labels


def sync_feedback(store, config) -> Counter:
    """Upsert feedback items from approved listings; deactivate those with confirmed open reports.

    Only a report an admin confirmed holds a listing back: anyone can send a report, and
    unconfirmed ones counting would let a stranger quietly starve the training set."""
    summary = Counter()
    threshold = config["LOW_CONFIDENCE_THRESHOLD"]
    open_reports = dict(db.session.execute(
        select(InaccuracyReport.product_id, func.count()).where(
            InaccuracyReport.resolved_at.is_(None), InaccuracyReport.confirmed_at.is_not(None))
        .group_by(InaccuracyReport.product_id)).all())
    existing = {i.source_id: i for i in db.session.scalars(
        select(TrainingItem).where(TrainingItem.source == "feedback"))}
    approved = db.session.scalars(select(Product).where(Product.status == "approved")).all()
    approved_ids = {p.id for p in approved}
    for item in existing.values():  # approval withdrawn: the listing no longer teaches
        if item.active and (item.provenance or {}).get("product_id") not in approved_ids:
            item.active = False
            summary["withdrawn"] += 1
    for product in approved:
        diff = db.session.scalar(select(ListingDiff).where(ListingDiff.product_id == product.id)
                                 .order_by(ListingDiff.created_at.desc()).limit(1))
        labels = trusted_labels(product, threshold)
        provenance = {"product_id": product.id, "approved_at": str(product.reviewed_at),
                      "reviewed_by": product.reviewed_by_id, "edited_fields": product.edited_fields or [],
                      "changed_at_review": diff.changed_fields if diff else [],
                      "open_reports": open_reports.get(product.id, 0)}
        for photo in product.photos:
            if not photo.thumbnail_key:
                continue  # never processed: not a usable photo
            source_id = f"product:{product.id}:photo:{photo.id}"
            item = existing.get(source_id)
            if item is None:
                try:
                    data = store.read(photo.object_key)
                except Exception as exc:  # gone from storage: nothing to learn from, say so
                    summary[f"photo unreadable ({type(exc).__name__})"] += 1
                    continue
                fingerprint = hashlib.sha256(data).hexdigest()
                key = f"{config.get('S3_PREFIX', '')}training/feedback/{fingerprint}.jpg"
                store.write(key, data, photo.content_type or "image/jpeg")
                item = TrainingItem(source="feedback", source_id=source_id, fingerprint=fingerprint,
                                    image_key=key)
                db.session.add(item)
                summary["added"] += 1
            else:
                summary["updated"] += 1
            for name, value in labels.items():
                setattr(item, name, value)
            item.description, item.tone, item.provenance = product.description, product.tone, provenance
            item.active = product.id not in open_reports and labels["category"] is not None
            if product.id in open_reports:
                summary["held back (open customer report)"] += 1
    db.session.commit()
    return summary
