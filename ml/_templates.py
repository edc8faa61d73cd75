"""Description templates for the starter catalogue.

Descriptions are built with slots ``{metal}``, ``{gem}``, ``{style}``, ``{colour}``
so the text model learns where a fact goes rather than memorising every value; the
slots are filled from the attributes after generation, which keeps facts grounded.
Category nouns stay literal because verb agreement depends on them.
"""
from __future__ import annotations

import re

NOUNS = {  # (noun phrase, plural?)
    "ring": (("ring", False), ("band", False), ("ring", False)),
    "earrings": (("earrings", True), ("pair of earrings", False), ("earrings", True)),
    "necklace": (("necklace", False), ("necklace", False), ("chain", False)),
    "pendant": (("pendant", False), ("charm pendant", False), ("pendant", False)),
    "bracelet": (("bracelet", False), ("bracelet", False), ("wristpiece", False)),
    "brooch": (("brooch", False), ("pin", False), ("brooch", False)),
}
WORDS = {
    "elegant": {"adj": ("refined", "graceful", "timeless", "polished", "exquisite", "luminous"),
                "verb": ("crafted", "fashioned", "finished", "made")},
    "playful": {"adj": ("fun", "cheerful", "bright", "joyful", "bold", "happy"),
                "verb": ("made", "crafted", "dreamed up", "styled")},
    "minimal": {"adj": ("simple", "clean", "understated", "quiet", "pared-back", "modern"),
                "verb": ("made", "made", "crafted", "cut")},
}
GEM_PHRASES = (" set with a {gem}", " featuring a {gem}", " with {gem} accents", " with {gem} detailing")

OPENERS = {
    "elegant": ("{A}{adj} {style} {noun} {verb} in {metal}{gemp}.",
                "{This} {adj} {noun} {is} {verb} in {metal}{gemp}.",
                "{Verb} in {metal}, {this} {style} {noun} {has} a {adj} presence{gemp}."),
    "playful": ("Meet your new favourite {noun}: a {adj} {style} piece in {metal}{gemp}!",
                "{This} {adj} {metal} {noun} {brings} a little sparkle to every day{gemp}!",
                "Say hello to {a}{adj} {style} {noun} in {metal}{gemp}."),
    "minimal": ("{Style} {noun} in {metal}{gemp}.",
                "{A}{adj} {style} {noun} in {metal}{gemp}.",
                "{Metal} {noun}, {style} design{gemp}."),
}
STONE = {
    "elegant": ("The {gem} catches the light with a soft glow.",
                "A {gem} adds {adj} colour and depth.",
                "The {gem} is held securely and sits beautifully."),
    "playful": ("That {gem} sparkle is hard to miss!",
                "The {gem} adds a cheeky pop of colour.",
                "A little {gem} makes every glance count!"),
    "minimal": ("Set with a {gem}.", "One {gem}, nothing more.", "The {gem} is the only detail."),
}
STYLE = {
    "elegant": ("{Its} {style} lines feel {adj} and assured.",
                "The {style} design {is} quietly {adj}.",
                "A {style} silhouette gives {it} a {adj} character."),
    "playful": ("{Style} but never boring, {it} {goes} with everything!",
                "{Its} {style} look is full of personality.",
                "Go {style} or go home!"),
    "minimal": ("Clean {style} lines.", "{Style} shape, no fuss.", "A {style} design."),
}
COLOUR = {
    "elegant": ("The overall palette is {colour}, easy to pair with evening wear.",
                "Its {colour} finish flatters every skin tone."),
    "playful": ("The {colour} shade is made for mixing and stacking!",
                "Think {colour}, think fun!"),
    "minimal": ("Colour: {colour}.", "Finish: {colour}."),
}
OCCASION = {
    "elegant": ("Wear {it} to an evening event or as an everyday luxury.",
                "{It} {is} a lovely choice for weddings and anniversaries."),
    "playful": ("Perfect for brunch, parties and everything in between!",
                "Pop {it} on and brighten any outfit!"),
    "minimal": ("For everyday wear.", "Easy to wear every day."),
}
GIFT = {
    "elegant": ("{It} {makes} a thoughtful gift for someone special.",
                "A gift to be treasured for years."),
    "playful": ("Gift {it} to a friend, or keep {it} for yourself!",
                "Treat yourself, you deserve it!"),
    "minimal": ("A considered gift.", "Made to last."),
}


def _agreement(plural: bool) -> dict[str, str]:
    if plural:
        return {"A": "", "a": "", "This": "These", "this": "these", "is": "are", "has": "have", "brings": "bring",
                "goes": "go", "makes": "make", "it": "them", "Its": "Their", "It": "They"}
    return {"A": "A ", "a": "a ", "This": "This", "this": "this", "is": "is", "has": "has", "brings": "brings",
            "goes": "goes", "makes": "makes", "it": "it", "Its": "Its", "It": "It"}


def _fill(sentence: str, fields: dict[str, str]) -> str:
    """Format with the given fields, leaving the attribute slots as ``{slot}``."""
    keep = {k: "{" + k + "}" for k in ("metal", "gem", "style", "colour")}
    keep.update({"Metal": "{Metal}", "Style": "{Style}"})
    return sentence.format(**{**keep, **fields})


def describe(labels: dict[str, str], tone: str, length: str, rng) -> str:
    """A slot template describing a piece; sentence count grows with ``length``."""
    def pick(options):
        return options[int(rng.integers(len(options)))]

    noun, plural = pick(NOUNS[labels["category"]])
    words = WORDS[tone]
    has_gem = labels["gemstone"] != "none"
    fields = {"noun": noun, "adj": pick(words["adj"]), "verb": pick(words["verb"]),
              "Verb": pick(words["verb"]).capitalize(), "gemp": pick(GEM_PHRASES) if has_gem else "",
              **_agreement(plural)}
    opener = pick(OPENERS[tone])
    if has_gem and length != "short" and rng.random() < 0.6:
        fields["gemp"] = ""  # the stone gets its own sentence instead
    sentences = [_fill(opener, fields)]
    extra = []
    if has_gem and (fields["gemp"] == "" or length == "long"):
        extra.append(STONE)
    extra += [STYLE, COLOUR]
    if length == "short":
        extra = []
    elif length == "long":
        extra += [OCCASION, GIFT]
    elif length == "medium":
        extra = extra[:2] if has_gem and fields["gemp"] == "" else [pick([STYLE, COLOUR])]
    for table in extra:
        fields["adj"] = pick(words["adj"])
        sentences.append(_fill(pick(table[tone]), fields))
    return " ".join(sentences)


_SLOTS = ("metal", "gem", "style", "colour")


def fill_slots(template: str, values: dict[str, str]) -> str:
    """Put attribute values into a slot template and tidy articles and capitals."""
    text = template
    for slot in _SLOTS:
        v = values[slot]
        text = text.replace("{" + slot + "}", v).replace("{" + slot.capitalize() + "}", v.capitalize())
    return tidy(text)


def tidy(text: str) -> str:
    """Fix "a"/"an" before vowels, collapse spaces, capitalise each sentence."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,!?:;])", r"\1", text)
    text = re.sub(r"\b([Aa])n? (?=[a-zA-Z])(\w)",
                  lambda m: (m.group(1) + ("n " if m.group(2).lower() in "aeiou" else " ") + m.group(2)),
                  text)
    return re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
