import subprocess
import sys

import pytest

from ml import vocab


def test_importing_ml_vocab_does_not_load_tensorflow():
    code = "import sys, ml, ml.vocab; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_label_round_trip_for_every_value():
    for attr, values in vocab.ATTRIBUTES.items():
        for i, value in enumerate(values):
            assert vocab.index_of(attr, value) == i
            assert vocab.value_of(attr, i) == value
    labels = {"category": "pendant", "metal": "rose gold", "gemstone": "pearl", "style": "vintage",
              "colour": "white"}
    assert vocab.decode_labels(vocab.encode_labels(labels)) == labels


def test_values_are_unique_and_real_dev_labels_are_covered():
    for values in vocab.ATTRIBUTES.values():
        assert len(set(values)) == len(values)
    for c in ("ring", "pendant", "necklace", "earrings", "bracelet"):
        assert c in vocab.CATEGORIES
    for m in ("gold", "silver", "white gold"):
        assert m in vocab.METALS
    assert vocab.TONES == ("elegant", "playful", "minimal")
    assert vocab.LENGTHS == ("short", "medium", "long")


def test_unknown_value_raises():
    with pytest.raises(KeyError):
        vocab.index_of("metal", "copper")


def test_longest_phrase_wins_and_colour_words_are_neutral():
    claims = vocab.find_claims("A white gold band with a gold-tone clasp and rose-gold details.")
    assert claims["metal"] == {"white gold", "rose gold"}
    assert vocab.find_claims("Sapphires and rubies on a bangle")["gemstone"] == {"sapphire", "ruby"}
    assert vocab.find_claims("Sapphires and rubies on a bangle")["category"] == {"bracelet"}


def test_contradictions_are_found():
    attrs = {"category": "ring", "metal": "silver", "gemstone": "none"}
    assert vocab.contradictions("A silver ring.", attrs) == []
    assert ("metal", "gold") in vocab.contradictions("A gold ring.", attrs)
    assert ("gemstone", "diamond") in vocab.contradictions("A silver ring with a diamond.", attrs)
    assert ("category", "necklace") in vocab.contradictions("A silver necklace.", attrs)
