"""What each render shows, drawn first; the scene is then built from these labels.

Names and values follow the default taxonomy (TAXONOMY.md): category, type, metal,
gemstone, colour, finish, stone_count, style, plus ``shot``.  Metals follow a rough
market prior; stones a prior per category (pearls on earrings and strands, not watches).
"""
from __future__ import annotations

TYPES = {
    "ring": ("band", "solitaire", "signet", "cocktail", "stacking"),
    "earrings": ("stud", "hoop", "drop", "huggie", "tassel"),
    "necklace": ("chain", "choker", "pendant necklace", "beaded"),
    "pendant": ("other",),
    "bracelet": ("chain", "bangle", "cuff", "charm bracelet", "beaded"),
    "brooch": ("other",),
    "watch": ("other",),
    "anklet": ("chain", "beaded"),
    "cufflinks": ("other",),
    "charm": ("other",),
}
CATEGORIES = tuple(TYPES)
METAL_WEIGHTS = {"gold": .22, "silver": .14, "sterling silver": .1, "white gold": .1, "rose gold": .1,
                 "platinum": .05, "gold vermeil": .04, "gold plated": .06, "stainless steel": .06,
                 "titanium": .03, "brass": .05, "copper": .05}
GEMSTONES = ("diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst", "turquoise", "cubic zirconia",
             "opal", "garnet", "topaz", "onyx", "moonstone", "crystal")
NO_STONE = {"ring": .35, "earrings": .35, "necklace": .45, "pendant": .4, "bracelet": .5, "brooch": .2,
            "watch": .7, "anklet": .6, "cufflinks": .5, "charm": .6}
FINISHES = {"polished": .65, "matte": .2, "hammered": .15}
STYLES = ("minimal", "classic", "vintage", "statement", "bohemian")
STONE_COLOUR = {"ruby": "red", "garnet": "red", "sapphire": "blue", "topaz": "blue", "emerald": "green",
                "amethyst": "purple", "turquoise": "turquoise", "pearl": "white", "opal": "white",
                "moonstone": "white", "onyx": "black"}
METAL_COLOUR = {"gold": "gold-tone", "gold vermeil": "gold-tone", "gold plated": "gold-tone", "brass": "gold-tone",
                "rose gold": "rose-tone", "copper": "copper-tone"}
SHOTS = ("product", "worn", "flat lay", "hanging")
NEEDS_STONE = ("solitaire", "cocktail")  # what makes these types what they are


def _pick(rng, weights: dict):
    keys = list(weights)
    p = [weights[k] for k in keys]
    total = sum(p)
    return keys[int(rng.choice(len(keys), p=[x / total for x in p]))]


def sample(rng, category: str) -> dict[str, str]:
    """Category, type, metal, gemstone, finish and style for one piece (colour and
    stone_count are set after the piece is built, from what it actually holds)."""
    kind = str(rng.choice(TYPES[category]))
    stone = "none" if rng.random() < NO_STONE[category] else str(rng.choice(GEMSTONES))
    if kind == "beaded" and stone in ("none", "diamond", "cubic zirconia", "ruby", "sapphire", "emerald", "topaz"):
        stone = str(rng.choice(["pearl", "turquoise", "onyx", "amethyst", "moonstone", "none"]))
    if kind in NEEDS_STONE and stone in ("none", "pearl"):
        stone = str(rng.choice([g for g in GEMSTONES if g != "pearl"]))
    if category == "watch" and stone not in ("none", "diamond", "cubic zirconia", "crystal"):
        stone = "none"
    return {"category": category, "type": kind, "metal": _pick(rng, METAL_WEIGHTS), "gemstone": stone,
            "finish": _pick(rng, FINISHES), "style": str(rng.choice(STYLES))}


def colour_of(metal: str, gemstone: str, multicolour: bool) -> str:
    """The colour a shopper would name: several colours, else the stone's, else the metal's."""
    if multicolour:
        return "multicolour"
    return STONE_COLOUR.get(gemstone) or METAL_COLOUR.get(metal, "silver-tone")


def stone_count(n: int) -> str:
    return "none" if n == 0 else "one" if n == 1 else "a few" if n <= 5 else "many"
