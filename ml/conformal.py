"""When to show a predicted value without "please check": thresholds with a guarantee.

For each attribute, a confidence threshold is chosen on held-out photos the heads never
trained on, by Learn-then-Test (Angelopoulos, Bates et al., 2021) with fixed-sequence
testing: thresholds are tried from the strictest down (from the first that could pass at
all), and each is accepted only while an exact binomial test rejects "the error rate among
values at or above it exceeds
``alpha``" at level ``delta``. With probability at least ``1 - delta`` over the
calibration photos, values shown unflagged on new photos like them are wrong at most a
share ``alpha`` of the time. A value with too few training labels is always flagged, as
is every value when the held-out photos cannot support any threshold.

The training pipeline calibrates on cross-fitted scores (:func:`cross_fit_threshold`):
every training photo scored by a head that did not see it. That exact guarantee assumes
one fixed model scored photos it never saw; cross-fitted scores come from several models
and the shipped head (fitted on every photo) is yet another, so it holds only
approximately. For cross-conformal prediction and K-fold CV+ (Vovk 2015; Barber, Candes,
Ramdas, Tibshirani 2021) the proven worst case is about twice the target error rate and
the typical one about the target; by analogy (not a proof for this selective setting) the
promise is an error rate near ``alpha`` among unflagged values, at worst about ``2 alpha``.
The thresholds are also order statistics of the calibration scores, not fixed in advance,
which makes the binomial test approximate too (as in Geifman and El-Yaniv's 2017 selective
classification bound).

Pure numpy and the standard library (no SciPy in the serving image).
"""
from __future__ import annotations

import math

import numpy as np

ALPHA = 0.05  # the error rate allowed among unflagged values (setting FLAG_ERROR_RATE)
DELTA = 0.1  # the chance that the calibration photos mislead (setting FLAG_DELTA)
MIN_VALUE_LABELS = 10  # a value seen fewer times in training is always flagged
NEVER = 1.01  # a threshold no confidence reaches: always flag


def binomial_cdf(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) <= k), exactly, in log space."""
    if k >= n:
        return 1.0
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def min_shown(alpha: float = ALPHA, delta: float = DELTA) -> int:
    """The fewest values shown for which the test could reject at all (all of them right)."""
    return max(1, math.ceil(math.log(delta) / math.log1p(-alpha)))


def threshold(confidence, correct, alpha: float = ALPHA, delta: float = DELTA) -> dict:
    """The lowest threshold Learn-then-Test accepts, with its calibration figures.

    The hypotheses are "the error rate among the m most confident values exceeds ``alpha``"
    for m = :func:`min_shown`, ..., n, tested in that order. Smaller m are skipped: their
    test can never reject, and stopping at them (as this did before) certified nothing
    however many photos there were. Ties enter together.
    Returns ``{"threshold", "alpha", "delta", "n_cal", "cal_coverage", "cal_risk"}``;
    ``threshold`` is :data:`NEVER` when no threshold passes.
    """
    conf = np.asarray(confidence, float)
    ok = np.asarray(correct, bool)
    order = np.argsort(-conf, kind="stable")
    conf, ok = conf[order], ok[order]
    first = min_shown(alpha, delta)
    chosen, shown = NEVER, 0
    errors = 0
    i = 0
    while i < len(conf):
        j = i
        while j < len(conf) and conf[j] == conf[i]:  # ties enter together
            errors += not ok[j]
            j += 1
        if j >= first:
            if binomial_cdf(errors, j, alpha) > delta:  # cannot reject "risk > alpha": stop here
                break
            chosen, shown = float(conf[i]), j
        i = j
    wrong = int((~ok[:shown]).sum())
    return {"threshold": round(chosen, 6), "alpha": alpha, "delta": delta, "n_cal": int(len(conf)),
            "cal_coverage": round(shown / len(conf), 4) if len(conf) else 0.0,
            "cal_risk": round(wrong / shown, 4) if shown else None}


def cross_fit_threshold(confidence, correct, alpha: float = ALPHA, delta: float = DELTA) -> dict:
    """:func:`threshold` on out-of-fold scores, marked as such: its promise is ``alpha``
    typically, ``worst_case`` (2 alpha) by the cross-conformal bound (see above)."""
    return {**threshold(confidence, correct, alpha, delta), "method": "cross-fit",
            "worst_case": round(2 * alpha, 4)}


def is_flagged(value: str, confidence: float, calibration: dict | None) -> bool:
    """Whether a predicted value needs a person's check under an attribute's ``calibration``
    (``{"threshold": t, "known_values": [...]}``; None: not calibrated, always flagged)."""
    if not calibration:
        return True
    if value not in set(calibration.get("known_values") or ()):
        return True
    return confidence < calibration["threshold"]


def coverage_and_risk(flagged, correct) -> dict:
    """Share shown unflagged, and the error rate among them (None when nothing is shown)."""
    flagged, ok = np.asarray(flagged, bool), np.asarray(correct, bool)
    shown = ~flagged
    return {"coverage": round(float(shown.mean()), 4) if len(shown) else 0.0,
            "risk": round(float((~ok[shown]).mean()), 4) if shown.any() else None,
            "n_shown": int(shown.sum())}
