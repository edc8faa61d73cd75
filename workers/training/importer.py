"""Bring a marketplace's existing catalogue in as training data.

Each source row becomes one `TrainingItem`, its image copied into object storage under
`<S3_PREFIX>training/`. Importing is idempotent and resumable: a row already imported
(same source and source id) is passed over, and each row is committed on its own, so an
interrupted run picks up where it stopped. Nothing is dropped silently: a row is refused
only with a reason, and every label value is counted. Labels are the marketplace's: a value
the taxonomy does not have yet is kept (and listed as new; the next training adds it), after
the admin's mapping (``/admin/labels`` or ``flask catalog map``: ``rings`` -> ``ring``; the rules
live in webapp/label_mappings.py) and the taxonomy's own spellings (plurals, claim words such as
``wristwatch``) have had their say.
"""
from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

from PIL import Image, UnidentifiedImageError
from sqlalchemy import select

from webapp import taxonomy
from webapp.extensions import db
from webapp.label_mappings import MAX_VALUE, mappings, normalise
from webapp.training_tables import LABEL_ATTRIBUTES, TrainingItem

FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}


@dataclass
class ImportSummary:
    imported: int = 0
    already: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> rows
    values: Counter = field(default_factory=Counter)  # (attribute, value) -> rows, after mapping
    new: Counter = field(default_factory=Counter)  # (attribute, value) -> rows; values the taxonomy lacks
    mapped: Counter = field(default_factory=Counter)  # (attribute, raw, value) -> rows
    # (attribute, value, other attribute, its value) -> rows kept with the finer label left empty
    contradicting: Counter = field(default_factory=Counter)
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
        for (attr, raw, value), n in self.mapped.most_common():
            out.append(f"  mapped {attr} {raw!r} -> {value!r} on {n} rows")
        for (attr, value, other, given), n in self.contradicting.most_common():
            out.append(f"  {attr} {value!r} left empty on {n} rows: it contradicts {other} {given!r}")
        for (attr, value), n in self.new.most_common():
            out.append(f"  new {attr} {value!r} on {n} rows: kept; the next training adds it to the taxonomy "
                       f"(or map it to a known value on /admin/labels or `flask catalog map {attr} {value!r} VALUE`)")
        by_attr = {}
        for (attr, value), n in sorted(self.values.items()):
            by_attr.setdefault(attr, []).append(f"{value} {n}")
        out += [f"  {attr}: {', '.join(vals)}" for attr, vals in by_attr.items()]
        return out

    def as_dict(self) -> dict:
        values = {}
        for (attr, value), n in self.values.items():
            values.setdefault(attr, {})[value] = n
        return {"imported": self.imported, "already_imported": self.already, "skipped": dict(self.skipped),
                "values": values, "new_values": {f"{a}={v}": n for (a, v), n in self.new.items()},
                "mapped": {f"{a}={r}->{v}": n for (a, r, v), n in self.mapped.items()},
                "left_empty": {f"{a}={v} (contradicts {o}={g})": n for (a, v, o, g), n in self.contradicting.items()}}


class CatalogImporter:
    """Adds rows from one source; call :meth:`add` per row, then read :attr:`summary`."""

    def __init__(self, store, prefix: str, source: str):
        self.store, self.prefix, self.source = store, prefix, source
        self.summary = ImportSummary()
        self._done = set(db.session.scalars(select(TrainingItem.source_id).where(TrainingItem.source == source)))
        self._prints = set(db.session.scalars(select(TrainingItem.fingerprint).where(TrainingItem.source == source)))
        self._mappings, self._taxonomy = mappings(), taxonomy.current()

    def label(self, attr: str, raw) -> str | None:
        """A raw label as the marketplace's value: mapped, a known spelling, or itself (new)."""
        text = normalise(raw)
        if text is None:
            return None
        return self._mappings.get(attr, {}).get(text) or self._taxonomy.normalise(attr, text) or text

    def _count(self, raw: dict, clean: dict) -> None:
        """Count an imported row's values: mapped ones, and those the taxonomy does not have yet."""
        for attr, value in clean.items():
            if value is None:
                continue
            text = normalise(raw.get(attr))
            if value != text:
                self.summary.mapped[(attr, text, value)] += 1
            if not self._taxonomy.knows(attr, value):
                self.summary.new[(attr, value)] += 1
            self.summary.values[(attr, value)] += 1

    def add(self, source_id, read_image, labels: dict, description=None, tone=None, provenance=None) -> str:
        """Import one row; ``read_image()`` returns the bytes or None when missing. Returns the outcome."""
        source_id = str(source_id)
        if source_id in self._done:
            self.summary.already += 1
            return "already imported"
        clean = {a: normalise(labels.get(a)) for a in LABEL_ATTRIBUTES}
        if clean["category"] is None:
            return self._skip("missing category", source_id)
        too_long = [a for a, v in clean.items() if v and len(v) > MAX_VALUE]
        if too_long:
            return self._skip(f"label longer than {MAX_VALUE} characters ({', '.join(too_long)})", source_id)
        clean = {a: self.label(a, labels.get(a)) for a in clean}
        contradicting = self._contradicting(clean)
        for attr, *_ in contradicting:
            clean[attr] = None
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
            description=(description or "").strip() or None, tone=normalise(tone),
            provenance=provenance, **clean))
        db.session.commit()  # one row at a time: an interrupted import resumes after it
        self._done.add(source_id)
        self._prints.add(fingerprint)
        self.summary.imported += 1
        self._count(labels, clean)
        self.summary.contradicting.update(contradicting)
        return "imported"

    def _contradicting(self, clean: dict) -> list[tuple[str, str, str, str]]:
        """Known values of a row that the taxonomy's rules say cannot stand together (a ring that
        is a hoop, gold that is silver-tone): of each pair, the finer attribute (the later one
        of LABEL_ATTRIBUTES) is left empty. Values new to the taxonomy have no rules yet."""
        known = {a: v for a, v in clean.items() if v is not None and self._taxonomy.knows(a, v)}
        out = []
        for a, b in self._taxonomy.conflicts(known):
            finer, other = (a, b) if LABEL_ATTRIBUTES.index(a) > LABEL_ATTRIBUTES.index(b) else (b, a)
            if finer not in {x for x, *_ in out}:
                out.append((finer, known[finer], other, known[other]))
        return out

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
