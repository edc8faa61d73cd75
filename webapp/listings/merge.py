"""Merge generated text into a product without ever overwriting what a person wrote.

A product keeps `edited_fields`, the names a person changed: "title", "description",
"tags" and "attributes.<name>". Generation fills every other field, and fills an edited
one only when the artisan asked for it (the job's `replace_fields`).
"""
import zlib

from flask import current_app

from ml.vocab import LENGTHS, TONES
from webapp import taxonomy
from webapp.listings.seller_facts import words_for_description

TEXT_FIELDS = ("title", "description", "tags")


def attribute_field(name: str) -> str:
    return f"attributes.{name}"


def edited(product) -> set[str]:
    return set(product.edited_fields or [])


def threshold() -> float:
    return current_app.config["LOW_CONFIDENCE_THRESHOLD"]


PEOPLE = ("artisan", "reviewer")


def set_by_person(attr: dict) -> bool:
    """A value an artisan or reviewer set or checked: a fact, never shown with the model's number."""
    return attr.get("source") in PEOPLE or bool(attr.get("confirmed"))


def is_low_confidence(attr: dict, limit: float | None = None) -> bool:
    """An attribute the artisan should check ("please check"): no person stands behind it and the
    model's calibrated flag says so (older listings without a flag: confidence under ``limit``)."""
    if set_by_person(attr):
        return False
    if "flagged" in attr:
        return bool(attr["flagged"])
    limit = threshold() if limit is None else limit
    return float(attr.get("confidence") or 0) < limit


def low_confidence_names(product, limit: float | None = None) -> list[str]:
    return [name for name, attr in (product.attributes or {}).items()
            if is_low_confidence(attr, limit)]


def sync_summary(product) -> None:
    """Copy category, metal and the lowest unconfirmed confidence into their own columns."""
    attrs = product.attributes or {}
    product.category = (attrs.get("category") or {}).get("value")
    product.metal = (attrs.get("metal") or {}).get("value")
    unsure = [float(a.get("confidence") or 0) for a in attrs.values() if not set_by_person(a)]
    product.min_confidence = min(unsure) if unsure else (1.0 if attrs else None)


def generation_options(job) -> dict:
    """What a run writes from: tone and length (the job's own, else the product's, else the
    defaults), the listing's current attributes (kept as they are: the model only fills those
    missing), the seller's facts, and a seed of the job's own, so each regeneration reads anew."""
    product = job.product
    tone = job.tone or product.tone or TONES[0]
    length = job.length or product.length or LENGTHS[1]
    given = {k: dict(v) for k, v in (product.attributes or {}).items()}
    others = []
    if job.kind == "photo":  # a photo added: the model judges the piece again from all its photos
        given = {k: v for k, v in given.items() if set_by_person(v)}
        others = [p.id for p in product.photos if p.id != job.photo_id]
    return {"tone": tone if tone in TONES else TONES[0],
            "length": length if length in LENGTHS else LENGTHS[1],
            "given": given, "other_photos": others,
            "facts": words_for_description(product), "seed": zlib.crc32(job.id.encode()) % 2**31}


def apply_generated(job, result: dict) -> list[str]:
    """Copy a generation result into the job's product; return the fields it wrote.

    A photo added to a product that already has text keeps the text; the worker judged the
    attributes from all the product's photos, so those are written (never over a person's).
    Regenerating the text never changes the attributes.
    """
    product = job.product
    photo_added = job.kind == "photo" and bool(product.title)  # text kept; the attributes judged again
    mine = edited(product)
    replace = set(job.replace_fields or [])
    written = []
    for field in TEXT_FIELDS if not photo_added else ():
        if field not in mine or field in replace:
            value = result[field]
            setattr(product, field, list(value) if field == "tags" else value)
            written.append(field)
    attributes = {k: dict(v) for k, v in (product.attributes or {}).items()}
    # Writing the text again never changes the attributes: only a photo run (a new or an
    # added photo) predicts them, and never over a value a person set.
    predicted = result.get("predicted", list(result["attributes"]))  # the rest were given: unchanged
    for name, attr in (result["attributes"].items() if job.kind != "regenerate" else ()):
        key = attribute_field(name)
        if name in predicted and (key not in mine or key in replace) and not set_by_person(attributes.get(name) or {}):
            attributes[name] = {"value": attr["value"], "confidence": float(attr["confidence"]), "source": "model"}
            if "flagged" in attr:  # a calibrated model's flag; older results fall back to the threshold
                attributes[name]["flagged"] = bool(attr["flagged"])
            written.append(key)
    product.attributes = attributes
    product.edited_fields = sorted(mine - replace)
    sync_summary(product)
    return written


def apply_edits(product, title: str, description: str, tags: list[str],
                values: dict[str, str], confirmed: set[str], source: str = "artisan") -> list[str]:
    """Apply what a person submitted; every field they changed or confirmed becomes theirs.

    An attribute a person set or confirmed keeps their value with ``source`` (artisan or
    reviewer) and no confidence: the model's number was about its own guess."""
    mine = edited(product)
    changed = []
    for field, value in (("title", title), ("description", description), ("tags", tags)):
        if value != getattr(product, field):
            setattr(product, field, value)
            changed.append(field)
    attributes = {k: dict(v) for k, v in (product.attributes or {}).items()}
    for name in taxonomy.current().names:
        current = attributes.get(name)
        value = (values.get(name) or "").strip()
        if current is None and not value:
            continue
        attr = dict(current or {"value": ""})
        if value and value != attr.get("value"):
            attr.update(value=value, confirmed=True, source=source, confidence=None, flagged=False)
            changed.append(attribute_field(name))
        elif name in confirmed and not set_by_person(attr):
            attr.update(confirmed=True, source=source, confidence=None, flagged=False)
            changed.append(attribute_field(name))
        attributes[name] = attr
    cleared = clear_ruled_out(attributes)
    if cleared or any(c.startswith("attributes.") for c in changed):
        product.attributes = attributes
    product.edited_fields = sorted(mine | set(changed))
    sync_summary(product)
    return changed


def clear_ruled_out(attributes: dict) -> list[str]:
    """Empty the model's guesses that a person's values rule out (a tassel type once the artisan
    says necklace), flagged, so the table never shows a pair that cannot exist; a photo run fills
    them again, consistent with the person's values. Returns the names emptied."""
    tax = taxonomy.current()
    people = {n: a["value"] for n, a in attributes.items() if set_by_person(a) and a.get("value")}
    cleared = []
    for name, attr in attributes.items():
        if set_by_person(attr) or not attr.get("value"):
            continue
        if any(not tax.compatible(name, attr["value"], other, value) for other, value in people.items()):
            attributes[name] = {"value": "", "confidence": None, "flagged": True, "source": "model"}
            cleared.append(name)
    return cleared


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, trimmed, without empties or repeats, order kept."""
    seen, out = set(), []
    for tag in (t.strip() for t in (text or "").split(",")):
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            out.append(tag[:40])
    return out[:20]
