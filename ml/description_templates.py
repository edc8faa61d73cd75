"""Hand-written description frames: the starter catalogue's text, and the describer's fallback.

Frames carry slots for attribute values (``{noun}``, ``{cat}``, ``{metal}``, ``{gem}``,
``{gems}``, ``{style}``, ``{colour}``, ``{finish}``, filled by :func:`fill_slots`), so the
text model learns where a fact goes rather than memorising every value. Agreement
(``{A}``, ``{This}``, ``{it}``, ``{~sit}`` -> "sits"/"sit") and adjectives are settled when
a frame is picked, from the category. A frame is only picked when every slot it needs
has a value: nothing is ever written about a value that is "none", "unknown" or absent.
Each sentence role has many frames per tone, so across a catalogue no frame repeats often.
"""
from __future__ import annotations

import re

EMPTY = ("", "none", "unknown", "other")
# Category -> (noun, plural?): the word the text uses when the type is not known.
CATEGORY_NOUN = {"ring": ("ring", False), "earrings": ("earrings", True), "necklace": ("necklace", False),
                 "pendant": ("pendant", False), "bracelet": ("bracelet", False), "brooch": ("brooch", False),
                 "watch": ("watch", False), "anklet": ("anklet", False), "cufflinks": ("cufflinks", True),
                 "charm": ("charm", False)}
# Finer types the text can name: the noun phrase and the title words (TAXONOMY.md).
CATEGORY_TYPES = {
    "earrings": {"stud": {"noun": "stud earrings", "title": "Stud Earrings"},
                 "hoop": {"noun": "hoop earrings", "title": "Hoop Earrings"},
                 "drop": {"noun": "drop earrings", "title": "Drop Earrings"},
                 "huggie": {"noun": "huggie hoops", "title": "Huggie Hoop Earrings"},
                 "tassel": {"noun": "tassel earrings", "title": "Tassel Earrings"}},
    "ring": {"band": {"noun": "band ring", "title": "Band Ring"},
             "solitaire": {"noun": "solitaire ring", "title": "Solitaire Ring"},
             "signet": {"noun": "signet ring", "title": "Signet Ring"},
             "cocktail": {"noun": "cocktail ring", "title": "Cocktail Ring"},
             "stacking": {"noun": "stacking ring", "title": "Stacking Ring"}},
    "necklace": {"chain": {"noun": "chain necklace", "title": "Chain Necklace"},
                 "choker": {"noun": "choker necklace", "title": "Choker Necklace"},
                 "pendant necklace": {"noun": "pendant necklace", "title": "Pendant Necklace", "kind": None},
                 "beaded": {"noun": "beaded necklace", "title": "Beaded Necklace"}},
    "bracelet": {"chain": {"noun": "chain bracelet", "title": "Chain Bracelet"},
                 "bangle": {"noun": "bangle bracelet", "title": "Bangle Bracelet"},
                 "cuff": {"noun": "cuff bracelet", "title": "Cuff Bracelet"},
                 "charm bracelet": {"noun": "charm bracelet", "title": "Charm Bracelet", "kind": None},
                 "beaded": {"noun": "beaded bracelet", "title": "Beaded Bracelet"}},
    "anklet": {"chain": {"noun": "chain anklet", "title": "Chain Anklet"},
               "beaded": {"noun": "beaded anklet", "title": "Beaded Anklet"}},
}
GEM_PLURAL = {"ruby": "rubies", "topaz": "topaz stones", "turquoise": "turquoise stones",
              "cubic zirconia": "cubic zirconia stones", "onyx": "onyx stones", "crystal": "crystals"}
METAL_WORDS = {"gold plated": "gold plate"}  # how a value reads inside a sentence

ADJ = {
    "elegant": ("refined", "graceful", "timeless", "exquisite", "luminous", "poised", "serene", "lovely",
                "gracious", "delicate", "radiant", "cultured", "discreet", "noble", "soft-spoken", "assured"),
    "playful": ("fun", "cheerful", "bright", "joyful", "bold", "happy", "sunny", "zesty", "spirited",
                "cheeky", "lively", "sparky", "merry", "jaunty", "giddy", "upbeat"),
    "minimal": ("simple", "clean", "understated", "quiet", "pared-back", "modern", "spare", "bare",
                "plain", "neat", "calm", "light", "precise", "unfussy", "direct", "slim"),
}
VERB = {"elegant": ("crafted", "fashioned", "finished", "made", "shaped", "formed", "worked"),
        "playful": ("made", "crafted", "dreamed up", "put together", "shaped", "whipped up"),
        "minimal": ("made", "cut", "formed", "shaped", "crafted", "built")}

# Sentence roles. Each frame names the slots it needs; {adj}, {adj2}, {verb} and agreement
# fields are filled when it is picked.
OPENER = {
    "elegant": (
        "{A}{adj} {style} {noun} {verb} in {metal}.",
        "{This} {adj} {noun} {~be} {verb} in {metal}.",
        "{Verb} in {metal}, {this} {style} {noun} {~have} a {adj} presence.",
        "Here {~be} {a}{noun} of {adj} proportions, {verb} in {metal}.",
        "{A}{style} {noun} in {metal}, {adj} from every angle.",
        "With {its} {adj} outline, {this} {metal} {noun} {~feel} made to be kept.",
        "Introducing {a}{adj} {noun}, {verb} in {metal} with a {style} eye.",
        "{This} {style} {noun} in {metal} {~carry} {itself} with {adj} ease.",
        "{This} {metal} {noun} {~be} {adj} in every line.",
        "{A}{noun} for {adj} occasions, {verb} in {metal}.",
        "{This} {noun} {~pair} {style} restraint with {adj} detail.",
        "{A}{adj} study in {metal}: {a}{style} {noun} to wear and keep.",
        "Softly {adj}, {this} {noun} {~be} {verb} in {metal}.",
        "{This} {metal} {noun} {~be} {adj} without trying too hard.",
        "{A}{adj}, {adj2} {noun} with a {style} spirit.",
        "{This} {noun} {~be} {style} in spirit, with {adj} detail.",
        "{Metal} gives {this} {style} {noun} {its} {adj} character.",
        "Quietly {adj}, {this} {noun} {~bring} a {style} touch to the day.",
    ),
    "playful": (
        "Meet your new favourite {noun}: {adj}, {style} and in {metal}!",
        "{This} {adj} {metal} {noun} {~bring} a little sparkle to every day!",
        "Say hello to {a}{adj} {style} {noun} in {metal}.",
        "{Metal} does not have to be serious, and {this} {adj} {noun} {~prove} it!",
        "Ta-da: {a}{adj} {noun}, {verb} in {metal} and ready to go!",
        "{A}{style} {noun} with a {adj} streak, {verb} in {metal}.",
        "Here comes {a}{adj} little {noun} in {metal}!",
        "{This} {noun} {~be} pure {adj} energy, {verb} in {metal}.",
        "Good news: {this} {adj} {noun} {~be} {verb} in {metal} and {~love} company!",
        "Add a wink to your look with {this} {adj} {metal} {noun}.",
        "{This} {style} {noun} in {metal} {~be} here to make you smile.",
        "Great idea: {a}{adj} {noun} with a {style} twist!",
        "Oh hello, {adj} {noun} in {metal}!",
        "{A}{adj}, {adj2} {noun} that {~refuse} to be boring.",
        "{This} {noun}: little, {adj} and {verb} in {metal}!",
        "{This} {metal} {noun} {~be} {adj} from the first glance!",
        "{This} {noun} {~have} a {adj} {style} attitude!",
    ),
    "minimal": (
        "{Style} {noun} in {metal}.",
        "{A}{adj} {style} {noun} in {metal}.",
        "{Metal} {noun}, {style} design.",
        "{A}{adj} {noun}, {verb} in {metal}.",
        "{Noun} in {metal}, {adj} and {adj2}.",
        "{A}{noun} in {metal}, nothing extra.",
        "{This} {noun}: {metal}, {adj} lines.",
        "{Cat} in {metal}, the {style} way.",
        "{Metal}, {verb} into {a}{adj} {noun}.",
        "{Adj} {metal} {noun}.",
        "{A}{noun} reduced to the {adj} essentials.",
        "{This} {noun} {~keep} to {adj} {metal}.",
        "{A}{adj} {noun} with {style} lines.",
        "{This} {metal} {noun} {~be} {adj} by design.",
        "{Noun}, {verb} in {metal}, kept {adj}.",
        "Only what matters: {a}{adj} {noun}.",
        "{This} {noun} {~be} {adj} and {style}.",
    ),
}
STONE = {  # frames by stone count: "one", "few" (a few), "many", "any" (count unknown)
    "elegant": {
        "one": ("A single {gem} sits at the heart of {it}.", "One {gem} is set where the eye falls first.",
                "{Its} lone {gem} adds a {adj} point of light.", "A solitary {gem} lends {it} quiet depth."),
        "few": ("A few {gems} are set along {it} with {adj} care.", "Small {gems} punctuate {its} line.",
                "Several {gems} add a {adj} rhythm.", "A scattering of {gems} brings {it} to life."),
        "many": ("A pavé of {gems} gives {it} a {adj} shimmer.", "Clustered {gems} cover {it} in light.",
                 "Many small {gems} sit close together across {it}.", "A field of {gems} glimmers as {it} {~move}."),
        "any": ("The {gem} detailing brings a {adj} glow.", "{Gem} accents add colour and depth.",
                "Set with {gem}, {it} {~catch} the light with a {adj} glow.",
                "The {gem} setting is secure and {adj}.", "{Its} {gem} gives {it} a {adj} depth."),
    },
    "playful": {
        "one": ("One {gem}, all the sparkle!", "A single {gem} steals the show!",
                "That lone {gem} is hard to miss!", "One little {gem} winks at everyone!"),
        "few": ("A few {gems} bring the party!", "Tiny {gems} dance along {it}!",
                "A handful of {gems} keeps things {adj}!", "Little {gems} pop up all over!"),
        "many": ("So many {gems}, so much sparkle!", "A crowd of {gems} shines from every side!",
                 "Pavé {gems} mean there is sparkle everywhere!", "{Gems} galore, and we love it!"),
        "any": ("That {gem} sparkle is hard to miss!", "The {gem} adds a {adj} pop!",
                "A little {gem} makes every glance count!", "{Gem} detailing? Yes please!",
                "Bring on the {gem} shimmer!"),
    },
    "minimal": {
        "one": ("One {gem}.", "A single {gem}, centred.", "One {gem}, nothing more.", "A lone {gem} detail."),
        "few": ("A few small {gems}.", "Several {gems}, evenly spaced.", "A short row of {gems}.",
                "Small {gems}, sparingly set."),
        "many": ("Pavé {gems}.", "Closely set {gems}.", "A dense setting of {gems}.", "Many small {gems}."),
        "any": ("Set with {gem}.", "{Gem} detail.", "The {gem} is the only detail.", "A {adj} {gem} accent."),
    },
}
TYPE = {  # the finer type in a word ({kind}); the opener has already named the piece in full
    "elegant": ("The {kind} shape is a {adj} classic.", "{Kind} designs are a {adj} choice for every day.",
                "Few shapes are as {adj} as the {kind}.", "The {kind} form never goes out of style."),
    "playful": ("The {kind} look is having a moment!", "Who doesn't love a {adj} {kind} moment?",
                "{Kind} style is always a good idea!", "Team {kind}, all the way!"),
    "minimal": ("Shape: {kind}.", "{Kind}: {adj} and practical.", "The {kind} form, kept {adj}.",
                "{Kind} shape, as it should be."),
}
FINISH = {
    "elegant": ("The {finish} surface gives the {metal} a {adj} depth.",
                "A {finish} finish lends {it} {adj} character.",
                "{Its} {finish} {metal} holds a {adj} light.",
                "The {finish} finish is {adj} to the touch."),
    "playful": ("That {finish} finish? Chef's kiss!", "The {finish} surface has so much personality!",
                "{Finish} and fabulous!", "A {finish} finish keeps things {adj}!"),
    "minimal": ("{Finish} finish.", "A {finish} surface.", "{Finish} {metal}, {adj}.", "Surface: {finish}."),
}
DESIGN = {
    "elegant": ("{Its} {style} lines feel {adj} and {adj2}.", "The {style} design is quietly {adj}.",
                "A {style} silhouette gives {it} a {adj} character.",
                "{Its} proportions are {adj}, in the {style} manner.",
                "The design is {style} at heart and {adj} in the details.",
                "{It} {~balance} {style} shape with {adj} detail.",
                "There is a {adj}, {style} calm to {its} outline.",
                "{Its} {style} form is {adj} without ever feeling cold.",
                "Nothing about {its} {style} shape is hurried.",
                "{Its} outline is {style} and gently {adj}.",
                "Seen up close, the {style} detailing is {adj}.",
                "The {style} lines were kept {adj} on purpose.",
                "{It} {~wear} {its} {style} character lightly.",
                "Balanced and {adj}, the form leans {style}."),
    "playful": ("{Style} but never boring, {it} {~go} with everything!", "{Its} {style} look is full of personality.",
                "Go {style} or go home!", "{Style} vibes, {adj} heart!",
                "{It} {~be} {style} in the most {adj} way!", "Equal parts {style} and {adj}!",
                "{Style} style with a {adj} wink.", "Honestly, {its} {style} shape is just {adj}!",
                "{Style} meets {adj}, and everyone wins!",
                "Totally {style}, totally {adj}!",
                "{Its} {style} shape has serious charm!",
                "A {style} look that never takes itself too seriously!",
                "{Style} on the outside, {adj} on the inside!",
                "This is what {adj} {style} looks like!"),
    "minimal": ("Clean {style} lines.", "{Style} shape, no fuss.", "A {style} design.", "{Style}, {adj}, {adj2}.",
                "A {adj} {style} outline.", "{Style} form.", "Lines kept {style} and {adj}.",
                "{Style} by intent.",
                "{Style} geometry.",
                "A {style}, {adj} form.",
                "Quiet {style} proportions.",
                "{Adj} {style} profile.",
                "{Style} detailing, sparingly.",
                "No ornament beyond the {style} form."),
}
COLOUR = {
    "elegant": ("The overall palette is {colour}, easy to pair with evening wear.",
                "{Its} {colour} shades flatter every skin tone.", "A {colour} glow keeps {it} {adj}.",
                "The {colour} colouring is {adj} against the skin.",
                "{Its} {colour} palette works with silk and wool alike.",
                "{Its} {colour} colour sits softly against the skin.",
                "The {colour} hue is {adj} in daylight and by candlelight.",
                "{Colour} hues give {it} a {adj} warmth.",
                "A {colour} sheen, {adj} and even.",
                "{Its} {colour} colour is easy to wear with anything."),
    "playful": ("The {colour} shade is made for mixing and matching!", "{Colour} means fun!",
                "{Colour} and proud of it!", "That {colour} colour goes with your whole wardrobe!",
                "{Colour} suits everyone!",
                "Hello, {colour}!",
                "A splash of {colour} for your day!",
                "{Colour} shades, big smiles!",
                "Your outfit called: it wants {colour}!",
                "{Colour} shine, all day long!"),
    "minimal": ("Colour: {colour}.", "{Colour} shades.", "A {colour} palette.", "In {colour}.",
                "{Colour}, nothing louder.",
                "{Colour} throughout.",
                "One colour: {colour}.",
                "{Colour}, evenly.",
                "Tone: {colour}.",
                "A {colour} surface, unadorned."),
}
WEAR = {
    "elegant": ("Wear {it} to an evening event or as an everyday luxury.",
                "{It} {~be} a lovely choice for weddings and anniversaries.",
                "{It} {~move} easily from the office to dinner.",
                "Layer {it} or let {it} stand alone; {it} {~look} {adj} either way.",
                "{It} {~suit} a quiet day as well as a celebration.",
                "Meant to be worn often and noticed gently.",
                "{It} {~belong} at a dinner as much as at the desk.",
                "Worn daily, {it} {~stay} {adj}.",
                "{It} {~work} beautifully with a white shirt.",
                "A piece for the days that matter, and the ordinary ones.",
                "{It} {~sit} comfortably from morning to night."),
    "playful": ("Perfect for brunch, parties and everything in between!", "Pop {it} on and brighten any outfit!",
                "Stack {it}, mix {it}, make {it} yours!", "Weekend plans? {It} {~be} coming too!",
                "{It} {~make} even a Monday feel {adj}!", "Dress {it} up or down, {it} {~be} always ready!",
                "Wear {it} to the park, the party, the pub!",
                "{It} {~go} with jeans, sequins and everything else!",
                "Holiday-ready and office-approved!",
                "Your new everyday sidekick!",
                "Mix {it} with your favourites and see!"),
    "minimal": ("For everyday wear.", "Easy to wear every day.", "Daily wear.", "Made for every day.",
                "Wear {it} daily.", "Goes with everything.",
                "Office to evening.",
                "Wears well.",
                "Light enough for every day.",
                "For work and rest.",
                "Comfortable all day."),
}
GIFT = {
    "elegant": ("{It} {~make} a thoughtful gift for someone special.", "A gift to be treasured for years.",
                "A {adj} present for a birthday or a milestone.", "{It} {~arrive} ready to be given.",
                "Chosen as a gift, {it} {~say} a great deal without words.",
                "A lovely way to mark an anniversary.",
                "{It} would please someone with a {adj} eye.",
                "Thoughtful for a graduation, a wedding or a quiet thank-you.",
                "A present that is kept, not put away.",
                "A keepsake in the making."),
    "playful": ("Gift {it} to a friend, or keep {it} for yourself!", "Treat yourself, you deserve it!",
                "The easiest gift decision you will make all year!", "Birthday sorted!",
                "Buy two: one to give, one to keep!",
                "Perfect for your favourite person, even if that is you!",
                "Surprise someone, watch them grin!",
                "Gift {it}, wrap {it}, bow {it}!",
                "Best friend birthday? Solved!",
                "A present that says you get them!"),
    "minimal": ("A considered gift.", "Made to last.", "A gift, simply.", "Keeps for years.",
                "Worth giving.",
                "A quiet present.",
                "For someone who likes less.",
                "Gift-ready.",
                "A lasting gift.",
                "Good to give."),
}

# The seller's facts, woven in word for word; tone-neutral so nothing is added to them.
FACT_FRAMES = {
    "materials": ("Materials: {value}.", "Made from {value}.", "{It} {~be} made of {value}."),
    "technique": ("{It} {~be} {value}.", "Technique: {value}.", "Made by the maker: {value}."),
    "origin": ("Made in {value}.", "Crafted in {value}.", "Origin: {value}."),
    "size": ("Size: {value}.", "Dimensions: {value}.", "{It} {~measure} {value}."),
    "weight": ("Weight: {value}.", "{It} {~weigh} {value}."),
    "care": ("Care: {value}.", "To care for {it}: {value}.", "Care tip: {value}."),
    "story": ("A note from the maker: {value}", "From the maker: {value}", "The story behind {it}: {value}"),
}
FACT_ORDER = ("materials", "technique", "origin", "size", "weight", "story", "care")
FACT_BUDGET = {"short": 1, "medium": 3, "long": 7}


def conjugate(verb: str, plural: bool) -> str:
    """Present tense for "it" or "they": ``conjugate("carry", False) == "carries"``."""
    if verb == "be":
        return "are" if plural else "is"
    if verb == "have":
        return "have" if plural else "has"
    if plural:
        return verb
    if verb.endswith(("s", "sh", "ch", "x", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def agreement(plural: bool) -> dict[str, str]:
    if plural:
        return {"A": "", "a": "", "This": "These", "this": "these", "it": "them", "It": "They",
                "Its": "Their", "its": "their", "itself": "themselves"}
    return {"A": "A ", "a": "a ", "This": "This", "this": "this", "it": "it", "It": "It",
            "Its": "Its", "its": "its", "itself": "itself"}


_AGREE = re.compile(r"\{~(\w+)\}")
SLOTS = ("noun", "cat", "kind", "metal", "gem", "gems", "style", "colour", "finish")
SLOT_PATTERN = re.compile(r"\{(" + "|".join(SLOTS) + r")\}", re.IGNORECASE)


def is_plural(category: str) -> bool:
    return CATEGORY_NOUN.get(category, ("", False))[1]


def slot_fills(labels: dict[str, str]) -> dict[str, str | None]:
    """The text each slot takes for these values; ``None`` where nothing may be written."""
    def known(name):
        v = str(labels.get(name) or labels.get({"gemstone": "gem"}.get(name, name)) or "").strip()
        return None if v.lower() in EMPTY else v

    category, kind = known("category"), known("type")
    cat = CATEGORY_NOUN.get(category, (category, False))[0] if category else "piece"
    noun = CATEGORY_TYPES.get(category or "", {}).get(kind or "", {}).get("noun", cat)
    gem, metal = known("gemstone"), known("metal")
    entry = CATEGORY_TYPES.get(category or "", {}).get(kind or "", {})
    return {"noun": noun, "cat": cat, "kind": entry.get("kind", kind) if entry else None,
            "metal": METAL_WORDS.get(metal, metal) if metal else None,
            "gem": gem, "gems": (GEM_PLURAL.get(gem, gem + "s") if gem else None),
            "style": known("style"), "colour": known("colour"), "finish": known("finish")}


def needed_slots(frame: str) -> set[str]:
    return {m.lower() for m in SLOT_PATTERN.findall(frame)}


def _usable(frames, fills) -> list[str]:
    return [f for f in frames if all(fills.get(s) for s in needed_slots(f))]


def _settle(frame: str, plural: bool, words: dict[str, str]) -> str:
    """Fill agreement and word fields, leaving attribute slots as ``{slot}`` for the model to learn."""
    frame = _AGREE.sub(lambda m: conjugate(m.group(1), plural), frame)
    keep = {s: "{" + s + "}" for s in SLOTS}
    keep.update({s.capitalize(): "{" + s.capitalize() + "}" for s in SLOTS})
    return frame.format(**{**keep, **agreement(plural), **words})


def stone_key(count: str | None) -> str:
    return {"one": "one", "a few": "few", "many": "many"}.get(count or "", "any")


def describe(labels: dict[str, str], tone: str, length: str, rng) -> str:
    """A slot template describing a piece; sentence count grows with ``length``.

    ``labels`` may lack the finer attributes (type, finish, stone_count) or hold "none" or
    "unknown": only sentences whose slots all have values are written.
    """
    def pick(options):
        return options[int(rng.integers(len(options)))]

    fills = slot_fills(labels)
    plural = is_plural(labels.get("category", ""))

    adjectives = [ADJ[tone][i] for i in rng.permutation(len(ADJ[tone]))]  # none twice in a text

    def words():
        a, b = adjectives.pop(), adjectives.pop()
        verb = pick(VERB[tone])
        return {"adj": a, "adj2": b, "Adj": a.capitalize(), "verb": verb, "Verb": verb.capitalize()}

    def sentence(frames):
        usable = _usable(frames, fills)
        return _settle(pick(usable), plural, words()) if usable else None

    opener = sentence(OPENER[tone])
    roles = []
    if fills["gem"] and labels.get("stone_count") != "none":
        roles.append(STONE[tone][stone_key(labels.get("stone_count"))])
    if fills["kind"]:
        roles.append(TYPE[tone])
    if fills["finish"]:
        roles.append(FINISH[tone])
    roles += [DESIGN[tone], COLOUR[tone]]
    order = list(rng.permutation(len(roles)))
    roles = [roles[i] for i in sorted(order[:2])] + [roles[i] for i in order[2:]]  # two first, in order
    if length == "short":
        roles = []
    elif length == "medium":
        roles = roles[:2]
    else:
        roles = roles[:4] + [WEAR[tone], GIFT[tone]]
    from ml.text_checks import problems  # noqa: PLC0415  (lazy: ml.text_checks imports this module)

    kept = [opener]
    for s in (sentence(r) for r in roles):
        if s and not problems(fill_slots(" ".join(kept + [s]), labels), labels):
            kept.append(s)
    return " ".join(kept)


def fact_sentences(facts: dict[str, str], category: str, length: str, rng, fits=lambda s: True) -> list[str]:
    """The seller's facts as sentences, their words kept exactly; at most the length's budget.

    ``fits(sentence)`` may refuse a frame (one that repeats the text so far): another is tried."""
    plural = is_plural(category)
    out = []
    for name in FACT_ORDER:
        value = " ".join(str(facts.get(name) or "").split())
        if not value or len(out) >= FACT_BUDGET[length]:
            continue
        value = value.rstrip(".") if name != "story" else value
        frames = FACT_FRAMES[name]
        if name == "technique" and not re.search(r"(ed|cast|made|wrought|spun|sewn)$", value.lower()):
            frames = frames[1:]  # "It is hand-forged." reads; "It is enamelling." does not
        for k in rng.permutation(len(frames)):
            text = _AGREE.sub(lambda m: conjugate(m.group(1), plural), frames[k])
            text = text.format(**agreement(plural), value=value)
            text += "" if text[-1] in ".!?" else "."
            if fits(" ".join(out + [text])):
                out.append(text)
                break
    return out


def fill_slots(template: str, values: dict[str, str]) -> str:
    """Put attribute values into a slot template and tidy articles and capitals."""
    fills = slot_fills(values)

    def put(m):
        v = fills.get(m.group(1).lower()) or ""
        return v[:1].upper() + v[1:] if m.group(1)[0].isupper() else v
    return tidy(SLOT_PATTERN.sub(put, template))


def fill_sentences(text: str, values: dict[str, str]) -> str:
    """:func:`fill_slots` for decoded text: a sentence with a slot nothing may fill is left out.

    The text model can write a colour or finish sentence for a value that was kept out as unsure,
    and filled with nothing it reads "Hues give them a soft warmth." or "Hello,!". A question
    mark does not end the sentence here: "That {finish} finish? Chef's kiss!" goes whole."""
    fills = slot_fills(values)
    kept = [s for s in re.findall(r"[^.!]+[.!]*", text)
            if s.strip() and all(fills.get(slot.lower()) for slot in SLOT_PATTERN.findall(s))]
    return fill_slots(" ".join(kept), values)


def tidy(text: str) -> str:
    """Fix "a"/"an" before vowels, collapse spaces, capitalise each sentence."""
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([.,!?:;])", r"\1", text)
    text = re.sub(r"\b([Aa])n? (?=[a-zA-Z])(\w)",
                  lambda m: (m.group(1) + ("n " if m.group(2).lower() in "aeiou" else " ") + m.group(2)),
                  text)
    return re.sub(r"(^|[.!?] )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


_WORDS_ONLY = re.compile(r"[a-z']+(?:-[a-z']+)*")
_VARIABLE = {w for tone in ADJ for w in ADJ[tone]} | {w for tone in VERB for w in VERB[tone]}


def taught_frame(sentence: str) -> str:
    """A delexicalised sentence reduced to the words that make its frame: lower case, no
    punctuation, adjectives and verbs from the word lists as "_" (slot tokens stay)."""
    return " ".join("_" if w in _VARIABLE else w for w in _WORDS_ONLY.findall(sentence.lower()))

