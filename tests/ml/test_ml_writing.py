"""The text a customer reads: written from the given values and the seller's facts, never broken."""
import numpy as np
import pytest

from ml import vocab
from ml.description_templates import CATEGORY_TYPES, describe, fill_sentences, fill_slots
from ml.grounding import ground
from ml.listing_text import compose_tags, compose_title, writing_values
from ml.starter_catalog import render
from ml.text_checks import invented_facts, problems

# Every value TAXONOMY.md names, plus none/unknown, for every attribute the text can use.
TAXONOMY = {
    "category": ("ring", "earrings", "necklace", "pendant", "bracelet", "brooch", "watch", "anklet", "cufflinks",
                 "charm", "unknown"),
    "metal": ("gold", "silver", "sterling silver", "white gold", "rose gold", "platinum", "gold vermeil",
              "gold plated", "stainless steel", "titanium", "brass", "copper", "unknown"),
    "gemstone": ("none", "diamond", "ruby", "sapphire", "emerald", "pearl", "amethyst", "turquoise",
                 "cubic zirconia", "opal", "garnet", "topaz", "onyx", "moonstone", "crystal", "unknown"),
    "colour": ("gold-tone", "silver-tone", "rose-tone", "copper-tone", "red", "blue", "green", "white", "black",
               "purple", "turquoise", "multicolour", "unknown"),
    "finish": ("polished", "matte", "hammered", "none", "unknown"),
    "stone_count": ("none", "one", "a few", "many", "unknown"),
    "style": ("minimal", "classic", "vintage", "statement", "bohemian", "unknown"),
}
BASE = {"category": "ring", "type": "signet", "metal": "gold", "gemstone": "ruby", "colour": "red",
        "finish": "polished", "stone_count": "one", "style": "classic"}
FACTS = {"materials": "925 sterling silver", "technique": "hand-forged", "origin": "Oaxaca, Mexico",
         "size": "ring size N, band 4 mm wide", "weight": "6 g", "care": "polish with a soft cloth",
         "story": "made from my grandmother's ring, resized to N"}


def every_value():
    """BASE with one attribute changed, for every value of every attribute and every type."""
    cases = [{**BASE, name: value} for name, values in TAXONOMY.items() for value in values]
    for category, types in CATEGORY_TYPES.items():
        cases += [{**BASE, "category": category, "type": t} for t in (*types, "other", "unknown")]
    for case in cases:
        if case["type"] not in CATEGORY_TYPES.get(case["category"], {}):
            case["type"] = "other"
    return cases


@pytest.mark.parametrize("sentence,values", [
    ("The diamond adds a diamond.", {"gemstone": "diamond"}),
    ("The none is held securely and sits beautifully.", {"gemstone": "none"}),
    ("Minimal wristpiece in silver.", {"category": "pendant", "metal": "silver"}),
    ("This earrings is lovely.", {"category": "earrings"}),
    ("These ring are lovely.", {"category": "ring"}),
    ("In silver tones, them sit softly.", {"category": "earrings"}),
    ("A ring in .", {"category": "ring"}),
    ("A {metal} ring.", {"category": "ring"}),
    ("A xmetalx ring.", {"category": "ring"}),
    ("A amethyst ring.", {"category": "ring", "gemstone": "amethyst"}),
    ("A ring ring in gold.", {"category": "ring", "metal": "gold"}),
    ("A gold ring.", {"category": "ring", "metal": "silver"}),
    ("A silver ring set with stones.", {"category": "ring", "metal": "silver", "gemstone": "none"}),
    ("A hammered silver ring.", {"category": "ring", "finish": "polished"}),
    ("A silver ring, 18 mm wide.", {"category": "ring"}),
    ("A hand-forged silver ring made in Peru.", {"category": "ring"}),
    ("A hallmarked 925 silver ring.", {"category": "ring"}),
    ("A finish lends it refined character.", {"category": "ring"}),  # the finish left out, its frame kept
    ("A surface.", {"category": "ring"}),
    ("The vintage design are quietly serene.", {"category": "earrings"}),  # the verb agreed with "earrings"
])
def test_the_rules_catch_broken_writing(sentence, values):
    assert problems(sentence, values), sentence


def test_the_rules_pass_good_writing_and_the_sellers_own_words():
    values = {**BASE, "metal": "silver", "type": "other"}
    assert problems("A classic silver ring set with a single ruby.", values) == []
    text = "A classic silver ring. Made from 925 sterling silver. It is hand-forged. Made in Oaxaca, Mexico."
    assert problems(text, values, FACTS) == []
    assert problems(text, values) != []  # the same words with no person behind them are inventions
    care = "Buff it to a finish with a soft cloth"
    assert problems(care + ".", values, {"care": care}) == []  # a seller's "a finish" is theirs


def test_every_value_in_every_tone_and_length_passes_the_rules():
    rng, checked = np.random.default_rng(0), 0
    for values in every_value():
        for tone in vocab.TONES:
            for length in vocab.LENGTHS:
                for facts in ({}, FACTS):
                    text = ground(fill_slots(describe(values, tone, length, rng), values), values, tone, length,
                                  facts, seed=checked)
                    assert problems(text, values, facts) == [], (values, tone, length, text)
                    assert "unknown" not in text.lower() and "none" not in text.lower(), text
                    checked += 1
    assert checked > 1500


def test_the_describer_passes_the_rules_for_every_value(generator):
    cases = every_value()
    emb = np.random.default_rng(1).uniform(0, 2, (len(cases), 1280)).astype(np.float32)
    for tone in vocab.TONES:
        for length in vocab.LENGTHS:
            texts = generator.text_model.generate(emb, cases, tone=tone, length=length, seed=5,
                                                  facts=[FACTS if i % 2 else {} for i in range(len(cases))])
            for i, (values, text) in enumerate(zip(cases, texts, strict=False)):
                facts = FACTS if i % 2 else {}
                assert problems(text, values, facts) == [], (values, tone, length, text)
                assert not invented_facts(text, facts), text


def test_the_sellers_facts_are_woven_in_word_for_word_and_none_is_invented(generator):
    img = render({k: BASE[k] for k in vocab.DESCRIBER_VALUES}, np.random.default_rng(0), 96)
    plain, told = generator.generate([img, img], length="long", seed=4, facts=[{}, FACTS])
    for value in FACTS.values():
        assert value in told["description"], (value, told["description"])
    assert invented_facts(plain["description"]) == []
    assert all(w not in plain["description"].lower() for w in ("mm", "hand-forged", "oaxaca", " g."))


def test_a_persons_values_are_the_facts_of_title_text_and_tags(generator):
    """The model would say what the photo looks like; a person said earrings in silver."""
    img = render({"category": "ring", "metal": "gold", "gemstone": "none", "style": "classic",
                  "colour": "gold-tone"}, np.random.default_rng(0), 96)
    predicted = generator.generate([img], seed=1)[0]["attributes"]
    old = {"category": predicted["category"]["value"], "metal": predicted["metal"]["value"]}
    new = {"category": next(c for c in ("earrings", "bracelet") if c != old["category"]),
           "metal": next(m for m in ("silver", "platinum") if m != old["metal"])}
    given = {"category": {"value": new["category"], "source": "artisan"},
             "metal": {"value": new["metal"], "source": "artisan"}}
    for tone in vocab.TONES:
        for length in vocab.LENGTHS:
            listing = generator.generate([img], tone=tone, length=length, seed=7, given=[given])[0]
            assert listing["attributes"]["category"] == given["category"]  # kept as given
            assert "category" not in listing["predicted"] and "metal" not in listing["predicted"]
            assert problems(listing["description"], writing_values(listing["attributes"])) == []
            text = (listing["title"] + " " + listing["description"]).lower()
            assert new["category"] in text and new["metal"] in text
            assert f" {old['category']} " not in f" {text} " and f"{new['metal']} {new['category']}" in listing["tags"]
            assert not any(old["category"] in t.split() for t in listing["tags"])
            if old["metal"] not in new["metal"]:
                assert f" {old['metal']} " not in f" {text} ", text


def test_a_new_seed_gives_new_wording_with_the_same_values(generator):
    img = render({k: BASE[k] for k in vocab.DESCRIBER_VALUES}, np.random.default_rng(0), 96)
    texts = {generator.generate([img], tone="elegant", length="medium", seed=s)[0]["description"] for s in range(4)}
    assert len(texts) >= 3, texts


def test_title_and_tags_are_specific():
    values = {"category": "earrings", "type": "hoop", "metal": "silver", "gemstone": "none", "finish": "hammered",
              "colour": "silver-tone", "style": "minimal", "stone_count": "none"}
    assert compose_title(values) == "Hammered Silver Hoop Earrings"
    tags = compose_tags(values, {"technique": "hand-forged"})
    assert tags[:3] == ["earrings", "silver earrings", "hoop earrings"] and "hand-forged" in tags
    assert len(tags) == len(set(tags)) and not any("jewellery" in t or t in vocab.TONES for t in tags)
    assert all(w not in " ".join(tags).split() for w in ("none", "unknown", "other"))


def test_a_model_guess_that_a_fact_rules_out_is_not_written():
    values = writing_values({"category": {"value": "ring", "source": "artisan"},
                             "type": {"value": "chain", "source": "model"},
                             "metal": {"value": "silver", "source": "reviewer"},
                             "colour": {"value": "gold-tone", "source": "model"}})
    assert values["type"] == "other" and values["colour"] == "silver-tone"


def test_a_decoded_sentence_whose_value_was_kept_out_is_left_out():
    # What the text model wrote on a real photo whose colour was flagged, so left out of the values:
    # filled with nothing, its last sentence read "Hues give them an exquisite warmth." A question
    # mark inside a frame does not split it, so no "Chef's kiss!" is left alone.
    values = writing_values({"category": {"value": "earrings"}, "metal": {"value": "gold"},
                             "style": {"value": "minimal"},
                             "colour": {"value": "gold-tone", "flagged": True}})
    decoded = ("These {noun} are {style} in spirit, with cultured detail. "
               "{colour} hues give them an exquisite warmth. Hello, {colour}! That {finish} finish? Chef's kiss!")
    assert fill_sentences(decoded, values) == "These earrings are minimal in spirit, with cultured detail."
    assert fill_sentences(decoded, {**values, "colour": "gold-tone"}).endswith(
        "Gold-tone hues give them an exquisite warmth. Hello, gold-tone!")
