"""The rendered starter's attribute heads, and flags calibrated across kinds of scene.

The starter has no real photos to calibrate on. Thresholds calibrated on held-out renders
of the same kinds it trained on are far too trusting on real photos (they are easier
than any real photo). So each head's temperature and flag threshold come from
*leave-one-kind-out* predictions: for every kind of scene (product shot, worn, flat lay,
hanging, drawing), a head fitted without that kind predicts it, and the pooled
predictions, all made on a kind the head never saw, are what Learn-then-Test
(ml/conformal.py) calibrates on. The shipped head is then fitted on everything. This is
a rule for the starter only: a marketplace's own versions calibrate on its own photos
(ml/train_catalog.py).

The heads are fitted class-balanced (ml/heads.py), which makes every value equally likely
before the picture is seen. With ``prior="catalogue"`` each head's bias then gets the log of
its training values' shares back, so it predicts at the catalogue's own frequencies instead
of a uniform one. ``prior="market"`` does that only for :data:`MARKET_PRIOR`, the attributes
the renderer draws from a stated market prior (ml/render/labels.py: more gold and silver than
rose gold, more plain pieces than stones); category, type and style are drawn evenly there,
and their shares in the training set are only the Pillow drawings' mix (measured: that prior
on category cost product shots dearly, docs/models.md). ``prior="listings"`` is ``market`` plus,
for category, :data:`LISTING_SHARES`: how often a marketplace lists each piece, a figure from
outside the catalogue (a marketplace lists few brooches, cufflinks or anklets).

A prior enters after the temperature: the temperature (fitted on leave-one-kind-out renders)
says how far to trust the picture on a kind of scene the head never saw, and shrinking the
picture's evidence must not shrink the prior with it (a head whose temperature is 4.7, as the
metal head's was, would otherwise keep a fifth of its prior's log odds).
"""
from __future__ import annotations

import numpy as np

from ml import conformal
from ml.features import head_input
from ml.heads import fit_head, fit_temperature, predict

MIN_CLASSES = 2
PRIORS = ("balanced", "catalogue", "market", "listings")
MARKET_PRIOR = ("metal", "gemstone", "finish", "colour", "stone_count")
# Share of a marketplace's jewellery per category. Source: Pattern's analysis of jewellery demand on
# Amazon ("Analysis: The Market Patterns of Jewelry Demand", pattern.com, 2021): of the four types
# most in demand, earrings are 41 % of their combined demand and rings more than necklaces and
# bracelets together; brooches and chokers "a fraction" of the top five (2020). Demand, not
# listings: the nearest public figure found. The four (necklaces split evenly with pendants) hold
# 90 % here, rings 30 %, necklaces with pendants 17 %, bracelets 12 % (the split of the 59 % left
# after earrings is ours, within what the source says); the five others 2 % each. Fixed before
# any measurement on real photos.
LISTING_SHARES = {"category": {"earrings": .41 * .9, "ring": .30 * .9, "necklace": .085 * .9, "pendant": .085 * .9,
                               "bracelet": .12 * .9, "brooch": .02, "watch": .02, "anklet": .02, "cufflinks": .02,
                               "charm": .02}}


def _log_prior(y: np.ndarray, n_classes: int, prior: str) -> np.ndarray:
    """What the bias gains: nothing (balanced), or the log share of each value in ``y`` (catalogue).
    A value absent from ``y`` keeps the share of one example, so it is unlikely, not impossible."""
    if prior == "balanced":
        return np.zeros(n_classes, np.float32)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    log_share = np.log(np.maximum(counts, 1.0) / counts.sum())
    return (log_share - log_share[present].mean()).astype(np.float32)


def _listing_prior(attr: str, values) -> np.ndarray:
    """The log of :data:`LISTING_SHARES` for ``attr``'s values, centred (a value it does not name
    gets the smallest share it gives)."""
    shares = LISTING_SHARES[attr]
    lp = np.log(np.array([shares.get(v, min(shares.values())) for v in values], np.float64))
    return (lp - lp.mean()).astype(np.float32)


def _ids(taxonomy, labels, attr) -> np.ndarray:
    return np.array([taxonomy.index_of(attr, lab[attr]) if taxonomy.knows(attr, lab.get(attr)) else -1
                     for lab in labels], np.int64)


def train_starter_heads(image_model, views: np.ndarray, test_emb: np.ndarray, labels: list[dict], kinds: list[str],
                        calibrate: str = "kinds", alpha: float = conformal.ALPHA, delta: float = conformal.DELTA,
                        min_value_labels: int = conformal.MIN_VALUE_LABELS, seed: int = 0, fold_views=None,
                        prior: str = "balanced", log=print) -> dict:
    """Set ``image_model``'s heads (fitted on ``views`` ``(n, v, d)``) and calibration; returns a report.

    ``kinds[i]`` names photo ``i``'s kind of scene; ``test_emb`` ``(n, d)`` are the test-view
    embeddings predictions are scored on. ``calibrate="kinds"`` calibrates on leave-one-kind-out
    predictions; ``"random"`` on a random fifth held out (the catalogue recipe, for comparison).
    ``fold_views`` (indices into the view axis) are all the leave-one-kind-out heads fit on, to
    keep training within minutes; the shipped head fits on every view. ``prior`` (:data:`PRIORS`):
    the frequencies each head predicts at before the picture is seen (see the module's note).
    """
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {PRIORS}")
    from ml.image_model import _build_heads  # noqa: PLC0415  (lazy: loads TensorFlow)

    extras = tuple(getattr(image_model, "extras", ()))
    if extras:  # each part unit length, side by side (ml/features.py), as the serving heads read them
        views, test_emb = head_input(views, extras), head_input(test_emb, extras)
    taxonomy = image_model.taxonomy
    heads = _build_heads(taxonomy, width=views.shape[-1])
    kinds = np.asarray(kinds)
    report, calibration = {}, {}
    for attr in taxonomy.names:
        values = taxonomy.values(attr)
        attr_prior = prior
        if prior in ("market", "listings"):
            attr_prior = "catalogue" if attr in MARKET_PRIOR else \
                "listings" if prior == "listings" and attr in LISTING_SHARES else "balanced"
        y = _ids(taxonomy, labels, attr)
        known = np.flatnonzero(y >= 0)
        if len(set(y[known])) < MIN_CLASSES:
            heads.get_layer(attr).set_weights([np.zeros_like(w) for w in heads.get_layer(attr).get_weights()])
            report[attr] = {"trained": False, "n_labelled": int(len(known))}
            continue
        held_probs, held_y, held_kind = [], [], []
        if calibrate == "kinds":
            for kind in sorted(set(kinds[known])):
                tr, te = known[kinds[known] != kind], known[kinds[known] == kind]
                if len(set(y[tr])) < MIN_CLASSES:
                    continue
                w, b = fit_head(views[tr][:, fold_views] if fold_views is not None else views[tr], y[tr], len(values))
                held_probs.append(predict(w, b, test_emb[te]))
                held_y.append(y[te])
                held_kind += [kind] * len(te)
            w, b = fit_head(views[known], y[known], len(values))
            fit_idx = known
        else:
            order = np.random.default_rng(seed).permutation(known)
            n_cal = len(order) // 5
            cal_idx, fit_idx = order[:n_cal], order[n_cal:]
            w, b = fit_head(views[fit_idx], y[fit_idx], len(values))
            held_probs.append(predict(w, b, test_emb[cal_idx]))
            held_y.append(y[cal_idx])
            held_kind += list(kinds[cal_idx])
        # The renders held out follow the catalogue's frequencies: the temperature is fitted with
        # the catalogue's prior (if any) beside it. The heads serve with the prior they are given,
        # and the flags are calibrated on what the served head says of those renders.
        own = _log_prior(y[fit_idx], len(values), "catalogue" if attr_prior == "catalogue" else "balanced")
        served = _listing_prior(attr, values) if attr_prior == "listings" else own
        probs, y_cal = np.concatenate(held_probs), np.concatenate(held_y)
        t = fit_temperature(probs, y_cal, own)
        probs = _tempered(probs, t, served)
        cal = conformal.threshold(probs.max(1), probs.argmax(1) == y_cal, alpha, delta)
        counts = np.bincount(y[fit_idx], minlength=len(values))
        cal["known_values"] = [v for v, c in zip(values, counts, strict=True) if c >= min_value_labels]
        cal["calibrated_on"] = "leave-one-kind-out renders" if calibrate == "kinds" else "random fifth of renders"
        heads.get_layer(attr).set_weights([w / t, b / t + served])
        calibration[attr] = cal
        ok = probs.argmax(1) == y_cal
        held_kind = np.asarray(held_kind)
        report[attr] = {"trained": True, "n_train": int(len(fit_idx)), "prior": attr_prior,
                        "temperature": round(float(t), 4),
                        "held_out_accuracy": round(float(ok.mean()), 4),
                        "held_out_accuracy_by_kind": {k: round(float(ok[held_kind == k].mean()), 4)
                                                      for k in sorted(set(held_kind))},
                        "calibration": {k: v for k, v in cal.items() if k != "known_values"}}
        log(f"  {attr:<11} held-out acc {report[attr]['held_out_accuracy']:.3f}, T={t:.2f}, "
            f"flag below {cal['threshold']} (coverage {cal['cal_coverage']})")
    image_model.heads = heads
    image_model.calibration = calibration
    return report


def _tempered(probs: np.ndarray, t: float, offset=0.0) -> np.ndarray:
    z = np.log(np.clip(probs, 1e-12, 1.0)) / t + offset
    z -= z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)
