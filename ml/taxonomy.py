"""The marketplace's attributes and their values, and the rules that keep a listing consistent.

A :class:`Taxonomy` is data: attribute -> ordered values (a value's index is its class id
in a model trained with it), the finer ``type`` values valid for each category, which
colour tone each metal has, explicitly excluded pairs, and the words that claim a value
in a description. It round-trips through JSON, so a model bundle carries its own
(``taxonomy.json``) and the web reads it without TensorFlow. Every consistency rule lives
in :meth:`Taxonomy.compatible`; :meth:`Taxonomy.resolve` picks the most probable
combination of values that obeys them. Pure Python: the web reads it for its forms, and numpy
would add 17 MB to every web process.
"""
from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

_TYPES = {
    "earrings": ("stud", "hoop", "drop", "huggie", "tassel"),
    "ring": ("band", "solitaire", "signet", "cocktail", "stacking"),
    "necklace": ("chain", "choker", "pendant necklace", "beaded"),
    "bracelet": ("chain", "bangle", "cuff", "charm bracelet", "beaded"),
    "anklet": ("chain", "beaded"),
    "pendant": ("other",), "brooch": ("other",), "watch": ("other",), "cufflinks": ("other",),
    "charm": ("other",),
}
_ATTRIBUTES = {
    "category": ("ring", "earrings", "necklace", "pendant", "bracelet", "brooch", "watch", "anklet",
                 "cufflinks", "charm"),
    "type": tuple(dict.fromkeys(t for ts in _TYPES.values() for t in ts)),
    "metal": ("gold", "silver", "sterling silver", "white gold", "rose gold", "platinum", "gold vermeil",
              "gold plated", "stainless steel", "titanium", "brass", "copper"),
    "gemstone": ("none", "diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst", "turquoise",
                 "cubic zirconia", "opal", "garnet", "topaz", "onyx", "moonstone", "crystal"),
    "colour": ("gold-tone", "silver-tone", "rose-tone", "copper-tone", "red", "blue", "green", "white",
               "black", "purple", "turquoise", "multicolour"),
    "finish": ("polished", "matte", "hammered"),
    "stone_count": ("none", "one", "a few", "many"),
    "style": ("minimal", "classic", "vintage", "statement", "bohemian"),
}
# The colour a metal shows. A colour that is some metal's tone must be this metal's tone.
_TONES = {"gold": "gold-tone", "gold vermeil": "gold-tone", "gold plated": "gold-tone", "brass": "gold-tone",
          "silver": "silver-tone", "sterling silver": "silver-tone", "white gold": "silver-tone",
          "platinum": "silver-tone", "stainless steel": "silver-tone", "titanium": "silver-tone",
          "rose gold": "rose-tone", "copper": "copper-tone"}
_CLAIMS = {
    "category": {"ring": ("ring", "rings", "signet"), "earrings": ("earring", "earrings", "studs", "hoops", "ear"),
                 "necklace": ("necklace", "necklaces", "strand", "choker"),
                 "pendant": ("pendant", "pendants", "locket"),
                 "bracelet": ("bracelet", "bracelets", "bangle", "bangles", "cuff"),
                 "brooch": ("brooch", "brooches", "pin"), "watch": ("watch", "watches", "wristwatch"),
                 "anklet": ("anklet", "anklets", "ankle chain"), "cufflinks": ("cufflinks", "cuff links"),
                 # "charm" alone is too often praise ("adds charm") to count as a claim
                 "charm": ("charms", "bracelet charm")},
    "metal": {"white gold": ("white gold",), "rose gold": ("rose gold", "rose-gold"),
              "gold": ("gold", "golden", "yellow gold"), "silver": ("silver",),
              "sterling silver": ("sterling silver", "sterling", "925 silver"), "platinum": ("platinum",),
              "gold vermeil": ("gold vermeil", "vermeil"), "gold plated": ("gold plated", "gold-plated"),
              "stainless steel": ("stainless steel", "steel"), "titanium": ("titanium",),
              "brass": ("brass",), "copper": ("copper",)},
    "gemstone": {"diamond": ("diamond", "diamonds"), "ruby": ("ruby", "rubies"),
                 "sapphire": ("sapphire", "sapphires"), "emerald": ("emerald", "emeralds"),
                 "pearl": ("pearl", "pearls"), "amethyst": ("amethyst", "amethysts"),
                 "turquoise": ("turquoise",), "cubic zirconia": ("cubic zirconia", "zirconia", "cz"),
                 "opal": ("opal", "opals"), "garnet": ("garnet", "garnets"), "topaz": ("topaz",),
                 "onyx": ("onyx",), "moonstone": ("moonstone", "moonstones"),
                 "crystal": ("crystal", "crystals")},
}
# A claim of the key is no contradiction of the value ("sterling silver" is silver).
_BROADER = {"sterling silver": "silver"}
# Phrases that contain a claim word without making the claim ("gold-tone" is a colour).
NEUTRAL_PHRASES = ("gold-tone", "silver-tone", "rose-tone", "copper-tone", "turquoise-blue", "ear cuff",
                   "charm bracelet", "pendant necklace")
NO_STONE = "none"


@dataclass(frozen=True)
class Taxonomy:
    attributes: dict[str, tuple[str, ...]]
    types: dict[str, tuple[str, ...]] = field(default_factory=dict)  # category -> its valid types
    tones: dict[str, str] = field(default_factory=dict)  # metal -> colour it shows
    excluded: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()  # ((attr, value), (attr, value))
    claim_terms: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    # -- values ---------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.attributes)

    def values(self, attribute: str) -> tuple[str, ...]:
        return self.attributes.get(attribute, ())

    def index_of(self, attribute: str, value: str) -> int:
        """Class id of ``value``; ``KeyError`` for an unknown attribute or value."""
        try:
            return self.attributes[attribute].index(value)
        except (KeyError, ValueError):
            raise KeyError(f"{value!r} is not a known {attribute}") from None

    def knows(self, attribute: str, value) -> bool:
        return value in self.attributes.get(attribute, ())

    def subset(self, attributes) -> Taxonomy:
        """The same taxonomy restricted to ``attributes`` (e.g. those a catalogue labels)."""
        return Taxonomy({a: self.attributes[a] for a in self.attributes if a in set(attributes)},
                        self.types, self.tones, self.excluded, self.claim_terms)

    def extended(self, new_values: dict[str, list[str]], types: dict[str, list[str]] | None = None) -> Taxonomy:
        """New values appended (existing ids keep their place); a new category gets type "other",
        and ``types`` adds finer types a category may have (``{"bracelet": ["tennis"]}``)."""
        attrs = {a: tuple(v) for a, v in self.attributes.items()}
        for a, values in new_values.items():
            attrs[a] = tuple(dict.fromkeys([*attrs.get(a, ()), *values]))
        valid_types, types = types or {}, dict(self.types)
        for c in attrs.get("category", ()):
            types.setdefault(c, ("other",))
        for c, ts in valid_types.items():
            types[c] = tuple(dict.fromkeys([*types.get(c, ("other",)), *ts]))
        if "type" in attrs:
            attrs["type"] = tuple(dict.fromkeys([*attrs["type"], *(t for ts in types.values() for t in ts)]))
        return Taxonomy(attrs, types, self.tones, self.excluded, self.claim_terms)

    # -- consistency: every rule is here --------------------------------------
    def compatible(self, a: str, v: str, b: str, w: str) -> bool:
        """Whether value ``v`` of attribute ``a`` can stand beside value ``w`` of ``b``."""
        if a == b:
            return v == w
        if ((a, v), (b, w)) in self.excluded or ((b, w), (a, v)) in self.excluded:
            return False
        pair = {a: v, b: w}
        if "category" in pair and "type" in pair and pair["category"] in self.types:
            if pair["type"] not in self.types[pair["category"]]:
                return False
        if "metal" in pair and "colour" in pair:
            tone = self.tones.get(pair["metal"])
            if tone and pair["colour"] in set(self.tones.values()) and pair["colour"] != tone:
                return False
        if "gemstone" in pair and "stone_count" in pair:
            if (pair["gemstone"] == NO_STONE) != (pair["stone_count"] == NO_STONE):
                return False
        return True

    def conflicts(self, values: dict[str, str]) -> list[tuple[str, str]]:
        """Pairs of attributes whose values contradict each other."""
        items = [(a, v) for a, v in values.items() if v is not None]
        return [(a, b) for (a, v), (b, w) in itertools.combinations(items, 2) if not self.compatible(a, v, b, w)]

    def _linked(self, a: str, b: str) -> bool:
        """Whether some rule relates attributes ``a`` and ``b`` at all."""
        rule_pairs = {frozenset(("category", "type")), frozenset(("metal", "colour")),
                      frozenset(("gemstone", "stone_count"))}
        rule_pairs |= {frozenset((x[0], y[0])) for x, y in self.excluded}
        return frozenset((a, b)) in rule_pairs

    def resolve(self, scores: dict[str, dict[str, float]], fixed: dict[str, str] | None = None,
                top_k: int = 6) -> dict[str, tuple[str, float]]:
        """The most probable consistent values: ``{attribute: (value, probability)}``.

        ``scores`` maps each attribute to ``{value: p}``; ``fixed`` holds values a person set,
        which stay as they are and constrain the rest. The probability returned is the
        value's share of the consistent combinations (attributes taken as independent),
        so a value that had to change to stay consistent is reported with less certainty.

        Within a group of attributes tied by a rule, values are decided in the taxonomy's order
        (category before type, metal before colour), each by its probability summed over the
        consistent values of those not decided yet, then the rest among what it allows. The
        single most probable combination would favour a category with one finer type ("other",
        shared by pendant, brooch, watch, cufflinks and charm) over one whose probability is
        split between five (a ring's band, solitaire, signet...): a brooch won that way on photos
        where the category head itself preferred another piece.
        """
        fixed = {a: v for a, v in (fixed or {}).items() if v is not None}
        names = [a for a in scores if a not in fixed]
        out: dict[str, tuple[str, float]] = {}
        groups, seen = [], set()
        for a in names:  # connected groups of attributes tied by a rule
            if a in seen:
                continue
            group, todo = [], [a]
            while todo:
                x = todo.pop()
                if x in seen:
                    continue
                seen.add(x)
                group.append(x)
                todo += [y for y in names if y not in seen and self._linked(x, y)]
            groups.append(group)
        for group in groups:
            for k in (top_k, None):  # the top values first; all of them if none of those fit together
                combos, weights = self._consistent(group, scores, fixed, k if len(group) > 1 else None)
                if combos:
                    break
            if not combos:  # a person's values leave nothing possible: keep each attribute's own best
                for a in group:
                    v, p = max(scores[a].items(), key=lambda kv: kv[1])
                    out[a] = (v, float(p))
                continue
            total, live = sum(weights), list(range(len(combos)))
            rank = {a: i for i, a in enumerate(self.names)}
            for a in sorted(group, key=lambda x: rank.get(x, len(rank))):
                mass: dict[str, float] = {}
                for i in live:
                    mass[combos[i][a]] = mass.get(combos[i][a], 0.0) + weights[i]
                best = max(mass, key=mass.__getitem__)
                share = sum(w for c, w in zip(combos, weights, strict=True) if c[a] == best) / total
                # Never surer than the model was of that value on its own.
                out[a] = (best, min(share, float(scores[a].get(best, 0.0))))
                live = [i for i in live if combos[i][a] == best]
        return out

    def _consistent(self, group, scores, fixed, k):
        """Combinations of the group's candidate values that obey every rule, with their weights."""
        cands = [sorted(scores[a].items(), key=lambda kv: -kv[1])[:k] for a in group]
        combos, weights = [], []
        for combo in itertools.product(*cands):
            vals = dict(zip(group, (v for v, _ in combo), strict=False))
            if any(not self.compatible(a, vals[a], b, w) for a in group for b, w in fixed.items()) or \
                    any(not self.compatible(a, vals[a], b, vals[b]) for a, b in itertools.combinations(group, 2)):
                continue
            combos.append(vals)
            weights.append(math.prod(max(float(p), 1e-12) for _, p in combo))
        return combos, weights

    # -- words ----------------------------------------------------------------
    def terms(self, attribute: str, value: str) -> tuple[str, ...]:
        """Words that name ``value``: its claim terms, else the value itself and its plural."""
        given = self.claim_terms.get(attribute, {}).get(value)
        return tuple(given) if given else (value, value + "s")

    def normalise(self, attribute: str, raw, mapping: dict[str, str] | None = None):
        """A raw label as one of this attribute's values: exact, mapped, a claim term or a plural; else None."""
        text = re.sub(r"\s+", " ", str(raw or "").strip().lower().replace("_", " "))
        if not text:
            return None
        if mapping and text in mapping:
            return mapping[text]
        if text in self.values(attribute):
            return text
        for value in self.values(attribute):
            if text in self.terms(attribute, value) or text == value + "s" or text + "s" == value:
                return value
        return None

    def find_claims(self, text: str) -> dict[str, set[str]]:
        """Values of category/metal/gemstone that ``text`` asserts (whole phrases, longest first)."""
        t = text.lower()
        for phrase in NEUTRAL_PHRASES:
            t = t.replace(phrase, " ")
        out = {}
        for attr in ("category", "metal", "gemstone"):
            term_to_value = {}
            for value in self.values(attr):
                if value == NO_STONE:
                    continue
                for term in self.terms(attr, value):
                    term_to_value.setdefault(term, value)
            if not term_to_value:
                continue
            alts = sorted(term_to_value, key=len, reverse=True)
            pat = re.compile(r"(?<![\w-])(" + "|".join(re.escape(x) for x in alts) + r")(?![\w-])")
            out[attr] = {term_to_value[m.group(1)] for m in pat.finditer(t)}
        return out

    def contradictions(self, text: str, values: dict[str, str]) -> list[tuple[str, str]]:
        """``[(attribute, claimed value)]`` where ``text`` disagrees with ``values``."""
        out = []
        for attr, claimed in self.find_claims(text).items():
            given = values.get(attr)
            if given is None:
                continue
            out.extend((attr, v) for v in sorted(claimed) if v != given and _BROADER.get(given) != v)
        return out

    # -- JSON -----------------------------------------------------------------
    def to_json(self) -> dict:
        return {"attributes": {a: list(v) for a, v in self.attributes.items()},
                "types": {c: list(t) for c, t in self.types.items()}, "tones": dict(self.tones),
                "excluded": [[list(x), list(y)] for x, y in self.excluded],
                "claim_terms": {a: {v: list(t) for v, t in d.items()} for a, d in self.claim_terms.items()}}

    @classmethod
    def from_json(cls, data) -> Taxonomy:
        if isinstance(data, (str, bytes)):
            data = json.loads(data)
        return cls({a: tuple(v) for a, v in data["attributes"].items()},
                   {c: tuple(t) for c, t in (data.get("types") or {}).items()}, dict(data.get("tones") or {}),
                   tuple((tuple(x), tuple(y)) for x, y in data.get("excluded") or ()),
                   {a: {v: tuple(t) for v, t in d.items()} for a, d in (data.get("claim_terms") or {}).items()})

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)


DEFAULT = Taxonomy(dict(_ATTRIBUTES), dict(_TYPES), dict(_TONES), (), _CLAIMS)


def load(path) -> Taxonomy:
    return Taxonomy.from_json(Path(path).read_text())
