"""Keep generated descriptions truthful to the attributes and free of repetition.

A language model trained on a few thousand sentences will sometimes name the wrong
metal or stone, or loop.  Rather than trust it, every description passes through
:func:`ground`: sentences that contradict the attributes or repeat a word 3-gram
are dropped, and a template sentence (grounded by construction) opens the text when
the model's own opening did not survive.  Pure Python, so it is cheap to test.
"""
from __future__ import annotations

import re
from itertools import pairwise

import numpy as np

from ml import vocab
from ml._templates import describe, fill_slots, tidy

_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_WORD = re.compile(r"[a-z0-9']+(?:-[a-z0-9']+)*")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def trigrams(text: str) -> list[tuple[str, str, str]]:
    w = words(text)
    return list(zip(w, w[1:], w[2:], strict=False))


def has_repeated_trigram(text: str) -> bool:
    grams = trigrams(text)
    return len(grams) != len(set(grams))


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def slot_values(attributes: dict[str, str]) -> dict[str, str]:
    return {"metal": attributes["metal"], "gem": attributes["gemstone"],
            "style": attributes["style"], "colour": attributes["colour"]}


def fallback_sentence(attributes: dict[str, str], tone: str) -> str:
    """A one-sentence template description that names the category; deterministic."""
    seed = sum(ord(c) for c in "".join(attributes.values()) + tone)
    for k in range(50):  # some nouns ("band", "chain") do not name the category outright
        template = describe(attributes, tone, "short", np.random.default_rng(seed + k))
        sentence = fill_slots(template, slot_values(attributes))
        if mentions_category(sentence, attributes["category"]):
            return sentence
    return tidy(f"{attributes['style']} {attributes['metal']} {attributes['category']}.")


def _stutters(sentence: str) -> bool:
    """A word said twice in a row ("favourite favourite") marks a broken generation."""
    w = words(sentence)
    return any(a == b for a, b in pairwise(w))


def mentions_category(text: str, category: str) -> bool:
    return category in vocab.find_claims(text)["category"]


MAX_SENTENCES = {"short": 1, "medium": 3, "long": 6}


def ground(text: str, attributes: dict[str, str], tone: str = "elegant", length: str = "long") -> str:
    """Return ``text`` minus contradicting or repetitive sentences, opened by a grounded
    template sentence when the surviving text does not name the piece's category, and
    cut to the sentence budget of ``length``."""
    kept: list[str] = []
    for sentence in split_sentences(tidy(text)):
        if len(words(sentence)) < 2 or vocab.contradictions(sentence, attributes) or _stutters(sentence):
            continue
        if has_repeated_trigram(" ".join(kept + [sentence])):
            continue
        kept.append(sentence)
    if not kept or not mentions_category(kept[0], attributes["category"]):
        opener = fallback_sentence(attributes, tone)
        rest = []
        for sentence in kept:
            if not has_repeated_trigram(" ".join([opener] + rest + [sentence])):
                rest.append(sentence)
        kept = [opener] + rest
    return " ".join(kept[: MAX_SENTENCES[length]])


def is_grounded(text: str, attributes: dict[str, str]) -> bool:
    return not vocab.contradictions(text, attributes) and not has_repeated_trigram(text)
