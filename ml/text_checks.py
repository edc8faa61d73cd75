"""Rules a description must pass before a customer reads it.

Each rule names a way generated text has gone wrong in front of a seller: a slot left
empty or filled with "none" ("The none is held securely"), a word said twice ("The
diamond adds a diamond"), the wrong piece ("wristpiece" in a pendant's text), "this
earrings", a metal, stone, type or finish the attributes do not say, and facts nobody
gave (a size, weight, hallmark, technique or origin). :func:`sentence_problems` checks
one sentence (grounding drops those that fail), :func:`problems` a whole text. Words the
seller wrote (their facts) are never held against the text. Pure Python.
"""
from __future__ import annotations

import functools
import re

from ml.description_templates import CATEGORY_TYPES

_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
STOPWORDS = frozenset(
    "a an and the of in on to with for as at by it its is are be this these that them they their "
    "your you every each one from or but so not no all any more most very just too into out up "
    "how what who can has have was were will into over under little".split())

CATEGORY_WORDS = {  # word -> category it names; longer type phrases first wins
    "pendant necklace": "necklace", "charm bracelet": "bracelet", "chain necklace": "necklace",
    "chain bracelet": "bracelet", "chain anklet": "anklet", "cuff bracelet": "bracelet",
    "bangle bracelet": "bracelet", "huggie hoops": "earrings", "ear cuff": "earrings",
    "ring": "ring", "rings": "ring", "signet": "ring", "earring": "earrings", "earrings": "earrings",
    "studs": "earrings", "hoops": "earrings", "necklace": "necklace", "necklaces": "necklace",
    "choker": "necklace", "pendant": "pendant", "pendants": "pendant", "locket": "pendant",
    "bracelet": "bracelet", "bracelets": "bracelet", "bangle": "bracelet", "bangles": "bracelet",
    "cuff": "bracelet", "wristpiece": "bracelet", "brooch": "brooch", "brooches": "brooch",
    "watch": "watch", "watches": "watch", "wristwatch": "watch", "anklet": "anklet", "anklets": "anklet",
    "cufflinks": "cufflinks", "cufflink": "cufflinks", "charm": "charm", "charms": "charm",
}
METAL_WORDS = {"white gold": "white gold", "rose gold": "rose gold", "rose-gold": "rose gold",
               "yellow gold": "gold", "gold vermeil": "gold vermeil", "vermeil": "gold vermeil",
               "gold plated": "gold plated", "gold-plated": "gold plated", "gold plate": "gold plated",
               "sterling silver": "sterling silver", "sterling": "sterling silver", "gold": "gold",
               "golden": "gold", "silver": "silver", "platinum": "platinum", "stainless steel": "stainless steel",
               "steel": "stainless steel", "titanium": "titanium", "brass": "brass", "copper": "copper"}
METAL_FAMILY = {"silver": {"sterling silver"}, "sterling silver": {"silver"}, "gold vermeil": {"gold"},
                "gold plated": {"gold"}}
NEUTRAL = ("gold-tone", "silver-tone", "rose-tone", "copper-tone")
GEMS = ("diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst", "turquoise", "cubic zirconia", "opal",
        "garnet", "topaz", "onyx", "moonstone", "crystal")
GEM_WORDS = {**{g: g for g in GEMS}, **{g + "s": g for g in GEMS}, "rubies": "ruby", "zirconia": "cubic zirconia",
             "cz": "cubic zirconia", "stone": "*", "stones": "*", "gem": "*", "gems": "*", "gemstone": "*",
             "gemstones": "*", "pavé": "*"}
FINISH_WORDS = {"polished": "polished", "high-polish": "polished", "matte": "matte", "brushed": "matte",
                "hammered": "hammered"}
TYPE_WORDS = {"huggie hoops": "huggie", "hoop earrings": "hoop", "stud": "stud", "studs": "stud", "hoop": "hoop",
              "hoops": "hoop", "huggie": "huggie",
              "tassel": "tassel", "solitaire": "solitaire", "signet": "signet", "cocktail": "cocktail",
              "stacking": "stacking", "choker": "choker", "bangle": "bangle", "cuff": "cuff", "beaded": "beaded"}
PLURAL_NOUNS = ("earrings", "cufflinks", "hoops", "studs")
SINGULAR_NOUNS = ("ring", "necklace", "pendant", "bracelet", "brooch", "watch", "anklet", "charm", "piece",
                  "choker", "bangle")
# Facts only a person can give: measures, hallmarks, how and where it was made, claims about materials.
INVENTED = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:mm|cm|in|inch|inches|g|grams?|ct|carats?|karat|k|kt)\b|\b(?:925|750|585|375)\b"
    r"|\b(?:hallmark\w*|hand-?forged|hand-?made|handcrafted|hand-crafted|lost-wax|cast|forged|engraved|"
    r"hand-stamped|soldered|recycled|ethical\w*|sourced|conflict-free|nickel-free|hypoallergenic|"
    r"waterproof|tarnish-free|workshop|studio|grandmother\w*|heirloom|antique)\b")
FACT = "factx"  # what a seller's words are replaced by before checking
_PLACE = re.compile(r"\b(?:made|crafted|produced) in (?!(?:" + "|".join(sorted(METAL_WORDS, key=len, reverse=True))
                    + rf"|{FACT})\b)[a-z]+")
A_AN_OK = ("a one", "a uni", "a use", "a euro", "an hour", "an hon", "an heir")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def _claims(text: str, table: dict[str, str]) -> list[str]:
    """Values named in ``text``, longest phrase first ("white gold" is not also "gold")."""
    t = text.lower()
    for phrase in NEUTRAL:
        t = t.replace(phrase, " ")
    return list(dict.fromkeys(table[m.group(1)] for m in _pattern(tuple(table.items())).finditer(t)))


@functools.lru_cache(maxsize=16)
def _pattern(items: tuple) -> re.Pattern:
    alts = sorted((phrase for phrase, _ in items), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(" + "|".join(re.escape(a) for a in alts) + r")(?![\w-])")


def _mask_facts(text: str, facts: dict[str, str] | None) -> str:
    """Blank out the seller's own words: what a person wrote is never an invention or a contradiction."""
    for value in (facts or {}).values():
        value = " ".join(str(value or "").split()).rstrip(".")
        if value:
            text = re.sub(re.escape(value), f" {FACT} ", text, flags=re.IGNORECASE)
    return re.sub(rf"\b(?:made|crafted) in {FACT}", FACT, text, flags=re.IGNORECASE)


def _known(values: dict[str, str], name: str) -> str | None:
    v = str(values.get(name) or "").strip().lower()
    return None if v in ("", "unknown", "other") else v


def contradictions(text: str, values: dict[str, str], facts: dict[str, str] | None = None) -> list[str]:
    """``["metal: gold", ...]``: what ``text`` claims against the values it was written from."""
    text = _mask_facts(text, facts)
    out = []
    category = _known(values, "category")
    if category:
        out += [f"category: {c}" for c in _claims(text, CATEGORY_WORDS) if c != category]
    metal = _known(values, "metal")
    if metal:
        out += [f"metal: {m}" for m in _claims(text, METAL_WORDS)
                if m != metal and m not in METAL_FAMILY.get(metal, ())]
    gem = _known(values, "gemstone")
    if gem:
        for g in _claims(text, GEM_WORDS):
            if g == "turquoise" and values.get("colour") == "turquoise":
                continue
            if (g == "*" and gem == "none") or (g != "*" and g != gem):
                out.append(f"gemstone: {g}")
    finish = _known(values, "finish")
    if finish and finish != "none":
        out += [f"finish: {f}" for f in _claims(text, FINISH_WORDS) if f != finish]
    kind = _known(values, "type")
    if kind:
        own = set(kind.split())
        out += [f"type: {t}" for t in _claims(text, TYPE_WORDS) if t not in own]
    return out


def invented_facts(text: str, facts: dict[str, str] | None = None) -> list[str]:
    """Measures, hallmarks, techniques or origins in ``text`` that no person wrote."""
    text = _mask_facts(text, facts).lower()
    return [m.group(0) for m in INVENTED.finditer(text)] + [m.group(0) for m in _PLACE.finditer(text)]


def article_problems(low: str, facts: dict[str, str] | None = None) -> list[str]:
    """"a" before a vowel, "an" before a consonant, and "a finish" whose finish was left out."""
    out = []
    for m in re.finditer(r"\b(an?) ([a-z]+)", low):
        phrase = m.group(0)
        vowel = m.group(2)[0] in "aeiou"
        if not phrase.startswith(A_AN_OK) and (m.group(1) == "a") == vowel and m.group(2) != FACT:
            out.append(f"article: {phrase}")
    if re.search(r"\ban? (?:finish|surface)\b", _mask_facts(low, facts)):  # "A {finish} finish", finish left out
        out.append("slot left empty")
    return out


def sentence_problems(sentence: str, values: dict[str, str], facts: dict[str, str] | None = None) -> list[str]:
    """Every rule ``sentence`` breaks, as short readable strings; ``[]`` when it may be published."""
    out = []
    low = sentence.lower()
    if re.search(r"[{}]|\bx(?!fact)[a-z]+x\b|\[unk\]|##", low):
        out.append("unfilled slot")
    if re.search(r"(?<![\w-])(?:none|unknown|null|n/a)(?![\w-])", _mask_facts(low, facts)):
        out.append("empty value written")
    w = words(_mask_facts(sentence, facts))
    if len(w) < 1:
        out.append("no words")
    if any(a == b for a, b in zip(w, w[1:], strict=False)):
        out.append("word said twice in a row")
    content = [x for x in w if x not in STOPWORDS and len(x) > 2 and x != FACT]
    repeated = sorted({x for x in content if content.count(x) > 1})
    if repeated:
        out.append("repeated word: " + ", ".join(repeated))
    if re.search(r"\b(?:this|each|an?)\s+(?:[\w-]+\s+){0,3}?(?:" + "|".join(PLURAL_NOUNS) + r")\b", low) \
            and "pair of" not in low:
        out.append("agreement: singular word before a plural noun")
    if re.search(r"\bthese\s+(?:[\w-]+\s+){0,3}?(?:" + "|".join(SINGULAR_NOUNS) + r")\b(?!s)", low):
        out.append("agreement: plural word before a singular noun")
    if re.search(r"\b(?:they|these|them|earrings|cufflinks|hoops|studs)\s+(?:is|has|was|looks|sits|makes|"
                 r"brings|goes|feels|carries|catches|suits|moves|pairs)\b", low) or \
            re.search(r"\b(?:it|this)\s+(?:are|were)\b", low) or re.search(r"(?:^|[,;:]\s*)them\s+[a-z]+", low) or \
            re.search(r"\bthe\s+(?:[\w-]+\s+)?(?:design|shape|form|outline|silhouette|look)\s+(?:are|were)\b", low):
        out.append("agreement: verb")
    out += article_problems(low, facts)
    if re.search(r"\s[.,!?:;]|\s{2,}", sentence) or not sentence[:1].isupper():
        out.append("spacing or capitals")
    out += [f"contradiction: {c}" for c in contradictions(sentence, values, facts)]
    out += [f"invented fact: {f}" for f in invented_facts(sentence, facts)]
    return out


def trigrams(text: str) -> list[tuple[str, ...]]:
    w = words(text)
    return list(zip(w, w[1:], w[2:], strict=False))


def problems(text: str, values: dict[str, str], facts: dict[str, str] | None = None) -> list[str]:
    """Every rule a whole description breaks: each sentence's, plus empty text, a repeated
    3-gram across sentences, and a missing full stop at the end."""
    if not text.strip():
        return ["empty description"]
    out = [p for s in split_sentences(text) for p in sentence_problems(s, values, facts)]
    grams = trigrams(_mask_facts(text, facts))
    if len(grams) != len(set(grams)):
        out.append("repeated 3-gram")
    if text.strip()[-1] not in ".!?":
        out.append("no closing punctuation")
    return out


def type_noun(values: dict[str, str]) -> str | None:
    return CATEGORY_TYPES.get(values.get("category", ""), {}).get(values.get("type", ""), {}).get("noun")
