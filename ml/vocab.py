"""Attribute vocabularies shared by the models, the web forms and the API.

Pure Python on purpose: the web process imports this module and must not pay for
TensorFlow.  Order matters: a value's index is its class id in the image model, so
append new values at the end and retrain rather than reorder.
"""
from __future__ import annotations

import re

CATEGORIES = ("ring", "earrings", "necklace", "pendant", "bracelet", "brooch")
METALS = ("gold", "silver", "white gold", "rose gold", "platinum")
GEMSTONES = ("none", "diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst",
             "turquoise", "cubic zirconia")
STYLES = ("minimal", "classic", "vintage", "statement", "bohemian")
COLOURS = ("gold-tone", "silver-tone", "rose-tone", "red", "blue", "green", "white",
           "purple", "turquoise", "multicolour")

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "category": CATEGORIES,
    "metal": METALS,
    "gemstone": GEMSTONES,
    "style": STYLES,
    "colour": COLOURS,
}
ATTRIBUTE_NAMES = tuple(ATTRIBUTES)

TONES = ("elegant", "playful", "minimal")
LENGTHS = ("short", "medium", "long")

# Words that, written in a description, claim a value of a "factual" attribute.
# Style and colour are matters of taste, so only these three are grounded.
CLAIM_TERMS: dict[str, dict[str, tuple[str, ...]]] = {
    "category": {
        "ring": ("ring", "rings", "signet"),
        "earrings": ("earring", "earrings", "studs", "hoops", "ear"),
        "necklace": ("necklace", "necklaces", "strand", "choker"),
        "pendant": ("pendant", "pendants", "locket"),
        "bracelet": ("bracelet", "bracelets", "bangle", "bangles", "cuff"),
        "brooch": ("brooch", "brooches", "pin"),
    },
    "metal": {
        "white gold": ("white gold",),
        "rose gold": ("rose gold", "rose-gold"),
        "gold": ("gold", "golden", "yellow gold"),
        "silver": ("silver", "sterling"),
        "platinum": ("platinum",),
    },
    "gemstone": {
        "diamond": ("diamond", "diamonds"),
        "ruby": ("ruby", "rubies"),
        "sapphire": ("sapphire", "sapphires"),
        "emerald": ("emerald", "emeralds"),
        "pearl": ("pearl", "pearls"),
        "amethyst": ("amethyst", "amethysts"),
        "turquoise": ("turquoise",),
        "cubic zirconia": ("cubic zirconia", "zirconia", "cz"),
    },
}
# Phrases that contain a claim word without making the claim ("gold-tone" is a colour).
_NEUTRAL = ("gold-tone", "silver-tone", "rose-tone", "turquoise-blue", "ear cuff")


def index_of(attribute: str, value: str) -> int:
    """Class id of ``value``; raises ``KeyError`` for unknown attributes/values."""
    values = ATTRIBUTES[attribute]
    try:
        return values.index(value)
    except ValueError:
        raise KeyError(f"{value!r} is not a known {attribute}") from None


def value_of(attribute: str, index: int) -> str:
    return ATTRIBUTES[attribute][index]


def encode_labels(labels: dict[str, str]) -> dict[str, int]:
    """``{"metal": "gold", ...}`` -> ``{"metal": 0, ...}`` for every attribute."""
    return {a: index_of(a, labels[a]) for a in ATTRIBUTE_NAMES}


def decode_labels(ids: dict[str, int]) -> dict[str, str]:
    return {a: value_of(a, int(ids[a])) for a in ATTRIBUTE_NAMES}


def _attribute_pattern(table):
    """One alternation per attribute, longest phrase first, so "white gold" beats "gold"."""
    term_to_value = {t: v for v, terms in table.items() for t in terms}
    alts = sorted(term_to_value, key=len, reverse=True)
    pat = re.compile(r"(?<![\w-])(" + "|".join(re.escape(t) for t in alts) + r")(?![\w-])")
    return pat, term_to_value


_CLAIM_PATTERNS = {attr: _attribute_pattern(table) for attr, table in CLAIM_TERMS.items()}


def find_claims(text: str) -> dict[str, set[str]]:
    """Values of category/metal/gemstone that ``text`` asserts, by whole-phrase match.

    Longer phrases win ("white gold" is not also "gold"), and neutral phrases such as
    "gold-tone" are ignored.
    """
    t = text.lower()
    for phrase in _NEUTRAL:
        t = t.replace(phrase, " ")
    return {attr: {term_to_value[m.group(1)] for m in pat.finditer(t)}
            for attr, (pat, term_to_value) in _CLAIM_PATTERNS.items()}


def contradictions(text: str, attributes: dict[str, str]) -> list[tuple[str, str]]:
    """``[(attribute, claimed_value), ...]`` where ``text`` disagrees with ``attributes``.

    ``attributes`` maps names to plain values; a gemstone of ``"none"`` means any
    named gemstone is a contradiction.
    """
    out = []
    for attr, claimed in find_claims(text).items():
        given = attributes.get(attr)
        if given is None:
            continue
        out.extend((attr, v) for v in sorted(claimed) if v != given)
    return out
