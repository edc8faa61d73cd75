"""Uploaded objects no row points to: replays of a processed upload's form at once, others
once the form that stored them has expired.

A signed upload form can be sent again until it expires (S3 cannot make a presigned POST
single-use, nor refuse a key that exists). After the worker has replaced an original with
its clean copy (`<base>.photo.jpg`, a key no form can write), a replay stores a new original
that no photo references, and nothing else would ever delete it. Such a key is deleted at
the next pass (every REAPER_INTERVAL), whatever its age: its job is done and nothing will
read it again. (A replay between confirmation and processing is refused by the worker
instead: it reads only the ETag recorded at confirm, workers/batch.py.)

Only keys shaped like an original (`<prefix>uploads/<owner>/<32 hex>.<ext>`, as
`start_upload` makes them) are considered. One whose upload was never processed is deleted
only once older than the form's lifetime plus REAPER_UPLOAD_GRACE: until then its row may
still be on its way, and every form ever signed for that key has expired by then.
"""
import logging
import re
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Photo
from webapp.products.uploads import ACCEPTED_TYPES
from webapp.storage import copy_keys, get_store

log = logging.getLogger(__name__)

EXTENSIONS = "|".join(re.escape(ext) for ext in sorted(set(ACCEPTED_TYPES.values())))
ORIGINAL = re.compile(rf"uploads/\d+/[0-9a-f]{{32}}(?:{EXTENSIONS})")


def sweep_orphan_uploads(batch: int = 500) -> int:
    """Delete unreferenced originals that were processed or whose forms have expired; returns how many."""
    config = current_app.config
    prefix = config.get("S3_PREFIX", "")
    expired_before = datetime.now(UTC) - timedelta(
        seconds=config["UPLOAD_URL_TTL"] + config["REAPER_UPLOAD_GRACE"])
    store = get_store()
    originals = [(key, modified) for key, modified in store.list_keys(prefix + "uploads/")
                 if ORIGINAL.fullmatch(key[len(prefix):])]
    deleted = 0
    for start in range(0, len(originals), batch):
        chunk = originals[start:start + batch]
        clean = {key: copy_keys(key)[1] for key, _ in chunk}
        referenced = set(db.session.scalars(select(Photo.object_key).where(
            Photo.object_key.in_(list(clean) + list(clean.values())))))
        orphans = [key for key, modified in chunk if key not in referenced
                   and (clean[key] in referenced or modified < expired_before)]
        if orphans:  # duplicates made before their copies had the worker's shapes: thumbnails like originals
            orphans = sorted(set(orphans) - set(db.session.scalars(
                select(Photo.thumbnail_key).where(Photo.thumbnail_key.in_(orphans)))))
        db.session.rollback()
        errors = store.delete_many(orphans) if orphans else {}
        for key, error in errors.items():
            log.warning("reaper: orphan upload %s not deleted yet: %s", key, error)
        deleted += len(orphans) - len(errors)
    if deleted:
        log.info("reaper: %d orphan uploads deleted (no photo points to them)", deleted)
    return deleted
