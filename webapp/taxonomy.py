"""The taxonomy the web follows: the promoted model version's, else the built-in default.

Read as JSON from the promoted ``model_versions`` row (never through TensorFlow), so forms,
filters, API checks and the served openapi.yaml offer exactly the values the serving model
knows. Kept per process for a few seconds: the catalogue page asks on every request.
"""
from __future__ import annotations

import time

from flask import has_app_context
from sqlalchemy import select

from ml.taxonomy import DEFAULT, Taxonomy
from webapp.extensions import db
from webapp.training_tables import ModelVersion

TTL_S = 10.0
_cache: dict = {"at": -1e9, "key": None, "taxonomy": DEFAULT}


def current() -> Taxonomy:
    """The promoted version's taxonomy, else :data:`ml.taxonomy.DEFAULT`."""
    if not has_app_context():
        return DEFAULT
    now = time.monotonic()
    if now - _cache["at"] < TTL_S:
        return _cache["taxonomy"]
    with db.engine.connect() as conn:  # its own connection: no snapshot left open in the request's session
        row = conn.execute(select(ModelVersion.version, ModelVersion.taxonomy)
                           .where(ModelVersion.status == "promoted")
                           .order_by(ModelVersion.promoted_at.desc()).limit(1)).first()
    key = row.version if row is not None and row.taxonomy else None
    if key != _cache["key"]:
        _cache["taxonomy"] = Taxonomy.from_json(row.taxonomy) if key else DEFAULT
        _cache["key"] = key
    _cache["at"] = now
    return _cache["taxonomy"]


def forget() -> None:
    """Read the promoted version again on the next call (after a promotion in this process)."""
    _cache["at"] = -1e9
