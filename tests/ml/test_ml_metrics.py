"""Scores used by `flask ml evaluate` and the promotion gate, checked on hand-worked cases."""
import numpy as np

from ml.finetune import class_weights
from ml.scoring import bleu4, confusion, distinct_2, expected_calibration_error, macro_f1, rouge_l
from ml.train_catalog import fit_temperature, templatise


def test_confusion_and_macro_f1():
    m = confusion([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], 4)
    assert m.tolist()[0] == [1, 1, 0, 0] and m.sum() == 5
    # F1 per class: 2/3, 4/5, 1 (class 3 never seen, left out)
    assert abs(macro_f1(m) - np.mean([2 / 3, 4 / 5, 1.0])) < 1e-9


def test_ece_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    assert expected_calibration_error([0.75] * 4, [1, 1, 1, 0]) == 0.0
    assert abs(expected_calibration_error([0.99] * 4, [1, 0, 0, 0]) - 0.74) < 1e-9


def test_bleu_and_rouge():
    ref = "a polished gold ring with a small ruby"
    assert abs(bleu4([ref], [ref]) - 1.0) < 1e-9
    assert bleu4(["silver earrings"], [ref]) == 0.0
    assert abs(rouge_l([ref], [ref]) - 1.0) < 1e-9
    # LCS of "gold ring ruby" against the reference is 3 words: P=1, R=3/8
    assert abs(rouge_l(["gold ring ruby"], [ref]) - 2 * 1 * (3 / 8) / (1 + 3 / 8)) < 1e-9


def test_distinct_2():
    assert distinct_2(["a b c", "a b d"]) == 3 / 4


def test_temperature_scaling_softens_an_overconfident_head():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), y] += 1.0  # right more often than not, but far from always
    probs = np.exp(8 * logits) / np.exp(8 * logits).sum(1, keepdims=True)  # very overconfident
    t = fit_temperature(probs, y)
    assert t > 3
    calibrated = np.exp(np.log(probs) / t)
    calibrated /= calibrated.sum(1, keepdims=True)
    correct = probs.argmax(1) == y
    assert expected_calibration_error(calibrated.max(1), correct) < expected_calibration_error(probs.max(1), correct)


def test_class_weights_balance_rare_classes():
    w = class_weights(np.array([0, 0, 0, 0, 0, 0, 1, 1]), 3)
    assert w[2] == 0 and w[1] > w[0] and abs((w[[0] * 6 + [1] * 2]).sum() - 8) < 1e-9


def test_templatise_turns_attribute_words_into_slots():
    attrs = {"metal": "rose gold", "gemstone": "ruby", "style": "vintage", "colour": "red"}
    assert templatise("A Rose Gold ring with a ruby.", attrs) == "A {metal} ring with a {gem}."
