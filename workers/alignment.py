"""The starter's alignment to this marketplace's photos (ml/adapt.py), from photos already described.

The worker stores every described photo's features with the listing (PhotoEmbedding, for "more
like this"); the mean of the most recent of them, for the version serving, is what a bundle
trained on renders moves new photos by. It is read again at most every MODEL_CHECK_SECONDS,
so new uploads keep it current without a query per job; no label and no person is involved.
"""
import logging
import time

import numpy as np
from flask import current_app
from sqlalchemy import select

from ml.adapt import RECENT_PHOTOS
from webapp.extensions import db
from webapp.listings.embeddings import from_bytes
from webapp.models import PhotoEmbedding

log = logging.getLogger(__name__)
_checked = {"version": None, "at": float("-inf")}


def refresh(generator) -> None:
    """Update ``generator``'s alignment from the stored features of its own version's photos
    (a bundle without an alignment, such as a marketplace-trained version, is left alone)."""
    alignment = generator.image_model.alignment
    if alignment is None:
        return
    now = time.monotonic()
    if _checked["version"] == generator.model_version and \
            now - _checked["at"] < current_app.config["MODEL_CHECK_SECONDS"]:
        return
    _checked.update(version=generator.model_version, at=now)
    vectors = db.session.scalars(
        select(PhotoEmbedding.vector).where(PhotoEmbedding.model_version == generator.model_version)
        .order_by(PhotoEmbedding.created_at.desc()).limit(RECENT_PHOTOS)).all()
    width = generator.image_model.feature_width
    rows = [v for v in map(from_bytes, vectors) if len(v) == width]
    was = alignment.active
    features = np.stack(rows) if rows else np.zeros((0, width), np.float32)
    if alignment.fit_target(features, generator.image_model.extras) != was:
        log.info("alignment to this marketplace's photos %s (%d photos of %s)",
                 "on" if alignment.active else "off", len(rows), generator.model_version)
