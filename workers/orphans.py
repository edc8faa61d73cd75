"""Uploaded objects no row points to, deleted once the form that stored them has expired.

A signed upload form can be sent again until it expires (S3 cannot make a presigned POST
single-use). After the worker has replaced an original with its clean copy, a replay
stores a new original that no photo references, and nothing else would ever delete it.
Only keys shaped like an original (`<prefix>uploads/<owner>/<32 hex>.<ext>`, as
`start_upload` makes them) are considered, and only once they are older than the form's
lifetime plus REAPER_UPLOAD_GRACE: a form still valid could still be followed by its row
being read, and every form ever signed for that key has expired by then.
"""
import logging
import re
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Photo
from webapp.products.uploads import ACCEPTED_TYPES
from webapp.storage import get_store

log = logging.getLogger(__name__)

EXTENSIONS = "|".join(re.escape(ext) for ext in sorted(set(ACCEPTED_TYPES.values())))
ORIGINAL = re.compile(rf"uploads/\d+/[0-9a-f]{{32}}(?:{EXTENSIONS})")


def sweep_orphan_uploads(batch: int = 500) -> int:
    """Delete unreferenced originals whose forms have expired; returns how many were deleted."""
    config = current_app.config
    prefix = config.get("S3_PREFIX", "")
    expired_before = datetime.now(UTC) - timedelta(
        seconds=config["UPLOAD_URL_TTL"] + config["REAPER_UPLOAD_GRACE"])
    store = get_store()
    candidates = [key for key, modified in store.list_keys(prefix + "uploads/")
                  if ORIGINAL.fullmatch(key[len(prefix):]) and modified < expired_before]
    deleted = 0
    for start in range(0, len(candidates), batch):
        chunk = candidates[start:start + batch]
        referenced = set(db.session.scalars(select(Photo.object_key).where(Photo.object_key.in_(chunk))))
        db.session.rollback()
        orphans = [key for key in chunk if key not in referenced]
        errors = store.delete_many(orphans) if orphans else {}
        for key, error in errors.items():
            log.warning("reaper: orphan upload %s not deleted yet: %s", key, error)
        deleted += len(orphans) - len(errors)
    if deleted:
        log.info("reaper: %d orphan uploads deleted (no photo points to them)", deleted)
    return deleted
