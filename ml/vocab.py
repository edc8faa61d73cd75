"""Tones and lengths of descriptions, and the describer's fixed conditioning layout.

Attributes and their values are the marketplace's and live in :mod:`ml.taxonomy`; this
module keeps what is not the marketplace's to choose. Pure Python on purpose: the web
process imports it and must not pay for TensorFlow.
"""
from __future__ import annotations

from ml.taxonomy import DEFAULT

TONES = ("elegant", "playful", "minimal")
LENGTHS = ("short", "medium", "long")

# The values the description model's one-hot conditioning was built on (its input layout,
# so existing describers keep loading). A value outside it conditions as all zeros: the
# describer writes attribute words through slots, so it needs no retraining for new values.
DESCRIBER_VALUES: dict[str, tuple[str, ...]] = {
    "category": ("ring", "earrings", "necklace", "pendant", "bracelet", "brooch"),
    "metal": ("gold", "silver", "white gold", "rose gold", "platinum"),
    "gemstone": ("none", "diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst",
                 "turquoise", "cubic zirconia"),
    "style": ("minimal", "classic", "vintage", "statement", "bohemian"),
    "colour": ("gold-tone", "silver-tone", "rose-tone", "red", "blue", "green", "white",
               "purple", "turquoise", "multicolour"),
}


def find_claims(text: str, taxonomy=None) -> dict[str, set[str]]:
    """Values of category/metal/gemstone that ``text`` asserts (see :meth:`ml.taxonomy.Taxonomy.find_claims`)."""
    return (taxonomy or DEFAULT).find_claims(text)


def contradictions(text: str, attributes: dict[str, str], taxonomy=None) -> list[tuple[str, str]]:
    """``[(attribute, claimed_value), ...]`` where ``text`` disagrees with ``attributes``."""
    return (taxonomy or DEFAULT).contradictions(text, attributes)
