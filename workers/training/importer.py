"""Bring a marketplace's existing catalogue in as training data.

Each source row becomes one `TrainingItem`, its image copied into object storage under
`<S3_PREFIX>training/`. Importing is idempotent and resumable: a row already imported
(same source and source id) is passed over, and each row is committed on its own, so an
interrupted run picks up where it stopped. Nothing is dropped silently: every skipped row
and every unknown label value is counted with its reason.
"""
from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from ml.taxonomy import DEFAULT
from webapp.extensions import db
from webapp.training_tables import TrainingItem

OPTIONAL = ("metal", "gemstone", "style", "colour")
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


@dataclass
class ImportSummary:
    imported: int = 0
    already: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    unknown: Counter = field(default_factory=Counter)  # (attribute, value) -> rows; row kept, label left empty
    examples: dict = field(default_factory=dict)  # reason -> first few source ids

    def skip(self, reason: str, source_id: str) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 5:
            self.examples[reason].append(source_id)

    def lines(self) -> list[str]:
        out = [f"imported {self.imported}, already imported {self.already}, skipped {sum(self.skipped.values())}"]
        for reason, n in self.skipped.most_common():
            out.append(f"  skipped {n}: {reason} (e.g. {', '.join(self.examples[reason])})")
        for (attr, value), n in self.unknown.most_common():
            out.append(f"  unknown {attr} {value!r} on {n} rows: kept with {attr} left empty")
        return out

    def as_dict(self) -> dict:
        return {"imported": self.imported, "already_imported": self.already, "skipped": dict(self.skipped),
                "unknown_labels": {f"{a}={v}": n for (a, v), n in self.unknown.items()}}


def normalise(attr: str, raw) -> str | None:
    """Lower-cased, trimmed value; '' / None -> None."""
    value = "" if raw is None else str(raw).strip().lower()
    return value or None


class CatalogImporter:
    """Adds rows from one source; call :meth:`add` per row, then read :attr:`summary`."""

    def __init__(self, store, prefix: str, source: str):
        self.store, self.prefix, self.source = store, prefix, source
        self.summary = ImportSummary()
        self._done = set(db.session.scalars(select(TrainingItem.source_id).where(TrainingItem.source == source)))
        self._prints = set(db.session.scalars(select(TrainingItem.fingerprint).where(TrainingItem.source == source)))

    def add(self, source_id, read_image, labels: dict, description=None, tone=None, provenance=None) -> str:
        """Import one row; ``read_image()`` returns the bytes or None when missing. Returns the outcome."""
        source_id = str(source_id)
        if source_id in self._done:
            self.summary.already += 1
            return "already imported"
        category = normalise("category", labels.get("category"))
        if category is None:
            return self._skip("missing category", source_id)
        if not DEFAULT.knows("category", category):
            self.summary.unknown[("category", category)] += 1
            return self._skip("unknown label (category)", source_id)
        clean = {"category": category}
        for attr in OPTIONAL:
            value = normalise(attr, labels.get(attr))
            if value is not None and not DEFAULT.knows(attr, value):
                self.summary.unknown[(attr, value)] += 1
                value = None
            clean[attr] = value
        try:
            data = read_image()
        except (FileNotFoundError, KeyError):
            data = None
        if not data:
            return self._skip("missing image", source_id)
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                fmt = im.format
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            return self._skip("unreadable image", source_id)
        fingerprint = hashlib.sha256(data).hexdigest()
        if fingerprint in self._prints:
            return self._skip("duplicate image (same photo under another id)", source_id)
        ext, content_type = FORMATS.get(fmt, ("img", "application/octet-stream"))
        key = f"{self.prefix}training/{self.source}/{fingerprint}.{ext}"
        self.store.write(key, data, content_type)
        db.session.add(TrainingItem(
            source=self.source, source_id=source_id, fingerprint=fingerprint, image_key=key,
            description=(description or "").strip() or None, tone=normalise("tone", tone),
            provenance=provenance, **clean))
        db.session.commit()  # one row at a time: an interrupted import resumes after it
        self._done.add(source_id)
        self._prints.add(fingerprint)
        self.summary.imported += 1
        return "imported"

    def _skip(self, reason: str, source_id: str) -> str:
        self.summary.skip(reason, source_id)
        return reason


def import_rows(store, prefix: str, source: str, rows, progress=None) -> ImportSummary:
    """Add every row of one source (see workers/training/sources.py); ``progress()`` is called per row."""
    importer = CatalogImporter(store, prefix, source)
    for row in rows:
        importer.add(*row)
        if progress is not None:
            progress()
    return importer.summary
