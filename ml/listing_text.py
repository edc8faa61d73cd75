"""Title and tags, and the values a listing's text is written from.

Text is written from an attributes dict (each ``{"value", "source", ...}``), never from
fresh predictions, so a regeneration can only change the wording: a value a person set
is a fact that the title, description and tags use, and a model guess that disagrees
with such a fact (a gold-tone colour on a piece a person said is silver, a chain type on
a piece a person said is a ring) is left out rather than written. Pure Python.
"""
from __future__ import annotations

from ml.description_templates import CATEGORY_TYPES

TITLE_MAX = 80
PEOPLE = ("artisan", "reviewer")
CATEGORY_TITLE = {"ring": "Ring", "earrings": "Earrings", "necklace": "Necklace", "pendant": "Pendant",
                  "bracelet": "Bracelet", "brooch": "Brooch", "watch": "Watch", "anklet": "Anklet",
                  "cufflinks": "Cufflinks", "charm": "Charm"}
METAL_TONE = {"gold": "gold-tone", "gold vermeil": "gold-tone", "gold plated": "gold-tone", "brass": "gold-tone",
              "rose gold": "rose-tone", "copper": "copper-tone"}  # the rest are silver-tone
TONE_COLOURS = ("gold-tone", "silver-tone", "rose-tone", "copper-tone")
EMPTY = ("", "none", "unknown", "other")


def is_fact(attr: dict) -> bool:
    """A value a person set or confirmed (``source`` artisan/reviewer, or the older ``confirmed`` flag)."""
    return attr.get("source") in PEOPLE or bool(attr.get("confirmed"))


UNSURE_DETAILS = ("type", "gemstone", "stone_count", "finish", "colour")


def writing_values(attributes: dict[str, dict]) -> dict[str, str]:
    """Plain values to write from: every attribute's value, minus model guesses that a fact rules out.

    Missing attributes (an older bundle without ``type`` or ``finish``) are simply absent.
    """
    values = {name: str(a.get("value") or "") for name, a in attributes.items()}
    facts = {name for name, a in attributes.items() if is_fact(a)}
    # A detail the model is unsure of (flagged "please check") stays out of the text: a seller
    # checks the category and metal the page flags, but a stone or shape the text asserts is a
    # confident-sounding claim nobody asked them to check.
    for name in UNSURE_DETAILS:
        if name in values and name not in facts and attributes[name].get("flagged"):
            values.pop(name)
    metal, colour = values.get("metal", ""), values.get("colour", "")
    if colour in TONE_COLOURS and "colour" not in facts and "metal" in facts and metal:
        values["colour"] = METAL_TONE.get(metal, "silver-tone")
    kind = values.get("type", "")
    if kind and kind not in EMPTY and "type" not in facts \
            and kind not in CATEGORY_TYPES.get(values.get("category", ""), {}):
        values["type"] = "other"
    if "gemstone" in facts and values.get("gemstone") == "none" and "stone_count" not in facts:
        values["stone_count"] = "none"
    if "gemstone" in facts and values.get("gemstone") not in EMPTY \
            and values.get("stone_count") == "none" and "stone_count" not in facts:
        values.pop("stone_count")  # a stone a person named: how many is not known
    return values


def _type_noun(values: dict[str, str]) -> str | None:
    kind = values.get("type", "")
    return CATEGORY_TYPES.get(values.get("category", ""), {}).get(kind, {}).get("title")


def compose_title(values: dict[str, str]) -> str:
    """"Hammered Silver Hoop Earrings": finish or style, metal, stone, type and category; at most 80 characters."""
    category = values.get("category", "")
    finish = values.get("finish") or ""
    lead = finish if finish not in EMPTY + ("polished",) else values.get("style")
    parts = [p for p in (lead, values.get("metal")) if p and p not in EMPTY]
    if (values.get("gemstone") or "") not in EMPTY:
        parts.append(values["gemstone"])
    noun = _type_noun(values) or CATEGORY_TITLE.get(category, category.title())
    words = " ".join(parts).title().split() + noun.split()
    keep = len(noun.split())
    while len(" ".join(words)) > TITLE_MAX and len(words) > keep:
        words.pop(0)  # the piece's name stays; descriptive words go from the front
    return " ".join(words)[:TITLE_MAX]


def compose_tags(values: dict[str, str], facts: dict[str, str] | None = None) -> list[str]:
    """Search tags a shopper would type: the piece, its metal, stone, type, finish and the seller's
    technique and origin; no tone words, no generic padding, no repeats."""
    category, metal = values.get("category", ""), values.get("metal", "")
    gem, kind = values.get("gemstone", ""), _type_noun(values)
    tags = [category, f"{metal} {category}" if metal else ""]
    if kind:
        tags.append(kind.lower())
    if gem not in EMPTY:
        tags += [f"{gem} {category}", gem]
    if (values.get("finish") or "") not in EMPTY:
        tags.append(f"{values['finish']} {metal}".strip())
    tags += [metal, values.get("colour", ""), f"{values.get('style', '')} {category}".strip()]
    facts = facts or {}
    for name in ("technique", "origin"):
        if facts.get(name):
            tags.append(facts[name][:40])
    out, seen = [], set()
    for tag in (t.strip().lower() for t in tags):
        words = tag.split()
        if tag and tag not in seen and not any(w in EMPTY for w in words) and tag != category + " " + category:
            seen.add(tag)
            out.append(tag)
    return out[:13]
