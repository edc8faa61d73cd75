"""ml.conformal and the cross-fitting in ml.heads: folds keep groups whole; thresholds certify where
the truth is known, and refuse where it is not good enough."""
import numpy as np

from ml import conformal, heads


def test_folds_never_split_a_group_and_are_balanced():
    rng = np.random.default_rng(0)
    groups = [f"piece{g}" for g in rng.integers(0, 40, size=200)]  # uneven groups, several photos each
    folds = heads.group_folds(groups, 5, seed=1)
    for g in set(groups):
        assert len({int(f) for f, h in zip(folds, groups, strict=True) if h == g}) == 1
    sizes = np.bincount(folds, minlength=5)
    largest = np.unique(groups, return_counts=True)[1].max()
    assert len(sizes) == 5 and sizes.min() > 0 and sizes.max() - sizes.min() <= largest
    assert (heads.group_folds(groups, 5, seed=1) == folds).all()  # deterministic
    assert len(set(heads.group_folds(["a", "a", "b"], 5))) == 2  # never more folds than groups


def _draw(rng, n):
    """Confidences in [0.5, 1); a value is wrong 30 % of the time below 0.8 and 1 % above it."""
    conf = rng.uniform(0.5, 1.0, n)
    wrong = rng.uniform(size=n) < np.where(conf < 0.8, 0.3, 0.01)
    return conf, ~wrong


def _true_risk(t):
    """The error rate among values at or above ``t`` under :func:`_draw` (0.05 at t = 0.768)."""
    return (0.3 * max(0.8 - t, 0) + 0.01 * (1 - max(t, 0.8))) / (1 - t)


def test_thresholds_certify_where_the_truth_is_known():
    alpha, delta = 0.05, 0.1
    chosen = [conformal.threshold(*_draw(np.random.default_rng(s), 500), alpha, delta)["threshold"]
              for s in range(200)]
    shown = [t for t in chosen if t < 1]
    assert len(shown) > 100  # values are shown on most calibrations
    assert np.median(shown) < 0.8  # down into the noisy band, where risk first reaches alpha
    assert sum(_true_risk(t) > alpha for t in chosen if t < 1) / len(chosen) <= delta  # the guarantee
    # Distinct confidences, all right: the first photos' tests cannot reject, and must not stop the sequence.
    assert conformal.threshold(np.linspace(0.99, 0.5, 100), np.ones(100, bool))["threshold"] <= 0.51
    assert conformal.threshold(np.linspace(0.99, 0.5, 40), np.ones(40, bool))["threshold"] == conformal.NEVER


def test_no_threshold_when_the_error_rate_is_too_high_everywhere():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.5, 1.0, 2000)
    cal = conformal.threshold(conf, rng.uniform(size=2000) > 0.2)  # 20 % wrong at every confidence
    assert cal["threshold"] == conformal.NEVER and cal["cal_risk"] is None


def test_cross_fitted_attribute_calibrates_on_every_photo_and_ships_a_head_fitted_on_all():
    rng = np.random.default_rng(2)
    n, d = 300, 16
    centres = rng.normal(size=(3, d))
    y = rng.integers(0, 3, size=n)
    x = centres[y] + 0.35 * rng.normal(size=(n, d))
    views = np.stack([x, x + 0.05 * rng.normal(size=x.shape)], 1)
    groups = np.arange(n) // 2  # two photos per piece
    head = heads.train_attribute(views, y, x, groups, ["a", "b", "c"], 0.05, 0.1, 10, folds=5)
    cal = head["calibration"]
    assert cal["n_cal"] == n and cal["folds"] == 5 and cal["method"] == "cross-fit"
    assert cal["threshold"] < conformal.NEVER and cal["cal_coverage"] > 0.5  # separable classes: values shown
    assert head["oof_accuracy"] > 0.9
    w, b = heads.fit_head(views, y, 3)
    assert np.allclose(head["w"] * head["temperature"], w, atol=1e-3 * np.abs(w).max())  # shipped: all photos
    assert cal["known_values"] == ["a", "b", "c"]
    rare = heads.train_attribute(views, np.where(y == 2, 2, y), x, groups, ["a", "b", "c"], 0.05, 0.1, n)
    assert rare["calibration"]["known_values"] == []  # every value seen < min_value_labels: always flagged
    assert conformal.is_flagged("a", 0.999, rare["calibration"])
