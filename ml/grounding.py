"""Keep generated descriptions truthful to the values they were written from, and readable.

A language model trained on a few thousand sentences will sometimes name the wrong
metal or stone, loop, or break a sentence. Rather than trust it, every description
passes through :func:`ground`: sentences that break a rule of :mod:`ml.text_checks`
(a contradiction, an empty or "none" fill, a repeated word, an agreement error, an
invented fact) or repeat a 3-gram are dropped; a hand-written opener (checked by the same
rules) leads when the model's own opening did not survive; a sentence on the finer
attributes (type, finish, stone) the text left out is added; then the seller's facts,
word for word. Pure Python, so it is cheap to test.
"""
from __future__ import annotations

import numpy as np

from ml.description_templates import (
    ADJ,
    FINISH,
    STONE,
    TYPE,
    _settle,
    _usable,
    describe,
    fact_sentences,
    fill_slots,
    is_plural,
    slot_fills,
    stone_key,
    tidy,
)
from ml.text_checks import problems, sentence_problems, split_sentences, trigrams, words

MAX_SENTENCES = {"short": 1, "medium": 3, "long": 6}


def has_repeated_trigram(text: str) -> bool:
    grams = trigrams(text)
    return len(grams) != len(set(grams))


def names_piece(text: str, values: dict[str, str]) -> bool:
    """Whether ``text`` says what the piece is (its category's noun, or "piece" when unknown)."""
    fills = slot_fills(values)
    have = " ".join(words(text))
    return f" {fills['cat']} " in f" {have} " or f" {fills['noun']} " in f" {have} "


def _template_sentence(values, tone, length, rng, table=None) -> str | None:
    """One hand-written sentence that passes the rules: an opener, or one from ``table``."""
    for _ in range(30):
        if table is None:
            text = fill_slots(describe(values, tone, "short", rng), values)
        else:
            frames = table[tone]
            if isinstance(frames, dict):
                frames = frames[stone_key(values.get("stone_count"))]
            text = fill_slots(describe_one(frames, values, tone, rng), values)
        if text and not problems(text, values):
            return text
    return None


def describe_one(frames, values, tone, rng) -> str:
    """A frame from ``frames`` settled for these values (used for the finer-attribute sentences)."""
    usable = _usable(frames, slot_fills(values))
    if not usable:
        return ""
    a, b = rng.choice(len(ADJ[tone]), 2, replace=False)
    return _settle(usable[int(rng.integers(len(usable)))], is_plural(values.get("category", "")),
                   {"adj": ADJ[tone][a], "adj2": ADJ[tone][b], "Adj": ADJ[tone][a].capitalize(),
                    "verb": "made", "Verb": "Made"})


def fallback_sentence(values: dict[str, str], tone: str, seed: int = 0) -> str:
    """A one-sentence hand-written description that names the piece."""
    rng = np.random.default_rng(seed)
    for _ in range(50):
        sentence = _template_sentence(values, tone, "short", rng)
        if sentence and names_piece(sentence, values):
            return sentence
    return tidy(f"{slot_fills(values)['noun']}.")


def _missing_details(text: str, values: dict[str, str]) -> list:
    """Tables for the finer attributes the text does not mention yet."""
    fills, have = slot_fills(values), " ".join(words(text))
    tables = []
    if fills["gem"] and values.get("stone_count") != "none" and fills["gem"] not in have:
        tables.append(STONE)
    if fills["kind"] and fills["kind"] not in have:
        tables.append(TYPE)
    if fills["finish"] and fills["finish"] not in have:
        tables.append(FINISH)
    return tables


def _says_again(sentence: str, kept: list[str], values: dict[str, str]) -> bool:
    """Whether ``sentence`` is a second sentence (after the opener) about the same stone,
    finish or colour: "An unfussy amethyst accent. A calm amethyst accent." reads as a stutter."""
    fills = slot_fills(values)
    have = f" {' '.join(words(sentence))} "
    for slot in ("gem", "finish", "colour"):
        value = fills.get(slot)
        if value and f" {value} " in have and any(f" {value} " in f" {' '.join(words(k))} " for k in kept[1:]):
            return True
    return False


def _within_budget(kept: list[str], values, tone, length, rng) -> list[str]:
    """The opener, then sentences on the finer attributes the text left out, then the
    describer's own, then (where it fell short) hand-written ones, up to the sentence budget."""
    budget = MAX_SENTENCES[length]
    for table in _missing_details(" ".join(kept), values)[: budget - 1]:
        sentence = _template_sentence(values, tone, length, rng, table)
        if sentence:  # said right after the opener, in place of the model's later sentences
            kept = (kept[:1] + [sentence] + kept[1:])[:budget]
    body = []
    for sentence in kept[:budget]:
        if not has_repeated_trigram(" ".join(body + [sentence])):
            body.append(sentence)
    more = split_sentences(fill_slots(describe(values, tone, "long", rng), values))[1:]
    for sentence in more:
        if len(body) >= budget:
            break
        if sentence not in body and not _says_again(sentence, body, values) \
                and not problems(" ".join(body + [sentence]), values):
            body.append(sentence)
    return body


def ground(text: str, values: dict[str, str], tone: str = "elegant", length: str = "long",
           facts: dict[str, str] | None = None, seed: int = 0) -> str:
    """Return ``text`` minus sentences that break a rule, led by a sentence naming the piece,
    with the finer attributes said, cut to the sentence budget of ``length``, then the
    seller's facts. ``seed`` picks the hand-written sentences, so a regeneration varies them."""
    rng = np.random.default_rng(seed)
    kept: list[str] = []
    for sentence in split_sentences(tidy(text)):
        if len(words(sentence)) < 2 or sentence[-1] not in ".!?" or sentence_problems(sentence, values):
            continue
        if has_repeated_trigram(" ".join(kept + [sentence])) or _says_again(sentence, kept, values):
            continue
        kept.append(sentence)
    if not kept or not names_piece(kept[0], values):
        kept = [fallback_sentence(values, tone, seed)] + kept
    body = _within_budget(kept, values, tone, length, rng)
    facts = facts or {}
    said = fact_sentences(facts, values.get("category", ""), length, rng,
                          fits=lambda more: not problems(" ".join(body + [more]), values, facts))
    return " ".join(body + said)


def is_grounded(text: str, values: dict[str, str], facts: dict[str, str] | None = None) -> bool:
    return not problems(text, values, facts)
