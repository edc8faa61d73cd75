import subprocess
import sys

from ml import vocab
from ml.taxonomy import DEFAULT


def test_importing_ml_vocab_and_taxonomy_does_not_load_tensorflow():
    code = "import sys, ml, ml.vocab, ml.taxonomy; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_tones_lengths_and_the_describers_layout():
    assert vocab.TONES == ("elegant", "playful", "minimal")
    assert vocab.LENGTHS == ("short", "medium", "long")
    for attr, values in vocab.DESCRIBER_VALUES.items():
        assert set(values) <= set(DEFAULT.values(attr))  # the default taxonomy is wider


def test_longest_phrase_wins_and_colour_words_are_neutral():
    claims = vocab.find_claims("A white gold band with a gold-tone clasp and rose-gold details.")
    assert claims["metal"] == {"white gold", "rose gold"}
    assert vocab.find_claims("Sapphires and rubies on a bangle")["gemstone"] == {"sapphire", "ruby"}
    assert vocab.find_claims("Sapphires and rubies on a bangle")["category"] == {"bracelet"}


def test_contradictions_are_found():
    attrs = {"category": "ring", "metal": "silver", "gemstone": "none"}
    assert vocab.contradictions("A silver ring.", attrs) == []
    assert vocab.contradictions("A silver ring.", dict(attrs, metal="sterling silver")) == []  # it is silver
    assert ("metal", "sterling silver") in vocab.contradictions("A sterling silver ring.", attrs)  # a purity claim
    assert ("metal", "gold") in vocab.contradictions("A gold ring.", attrs)
    assert ("gemstone", "diamond") in vocab.contradictions("A silver ring with a diamond.", attrs)
    assert ("category", "necklace") in vocab.contradictions("A silver necklace.", attrs)
