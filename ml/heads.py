"""Attribute heads trained in numpy: softmax regression on unit-length embeddings.

Two recipes, measured side by side by ``ml.crossval`` on the same splits:

- :func:`linear_probe`, the plainest baseline: one embedding per photo, 600 full-batch
  gradient steps, no augmentation, no class weights.
- :func:`fit_head`, what ships: every training view of a photo (mirror, crops, jitter; see
  ml/features.py) is an example, classes are weighted against imbalance, the weights
  are L2-regularised, and the optimiser is full-batch Adam. At inference the photo and its
  mirror image are averaged (ml/features.py ``TEST_VIEWS``).

Both are deterministic (zero start, full batch), so a figure does not move between runs.
"""
from __future__ import annotations

import numpy as np

from ml import conformal
from ml.features import unit
from ml.scoring import confusion, macro_f1

SCALE = 30.0  # inputs are unit vectors times this (the Keras heads' Rescaling layer)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def class_weights(y: np.ndarray, n_classes: int, cap: float = 5.0) -> np.ndarray:
    """Inverse-frequency weight per class (balanced), capped so one rare photo cannot dominate."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    w = np.zeros(n_classes)
    present = counts > 0
    w[present] = len(y) / (present.sum() * counts[present])
    return np.clip(w, 0.0, cap)


def _fit(x: np.ndarray, y: np.ndarray, n_classes: int, sample_weight: np.ndarray, l2: float, steps: int,
         lr: float, adam: bool) -> tuple[np.ndarray, np.ndarray]:
    x = unit(x) * SCALE
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    sw = (sample_weight / sample_weight.sum()).astype(np.float32)[:, None]
    w = np.zeros((x.shape[1], n_classes), np.float32)
    b = np.zeros(n_classes, np.float32)
    m = [np.zeros_like(w), np.zeros_like(b)]
    v = [np.zeros_like(w), np.zeros_like(b)]
    for t in range(1, steps + 1):
        g = (softmax(x @ w + b) - onehot) * sw
        grads = [x.T @ g + 2 * l2 * w, g.sum(0)]
        for i, (param, grad) in enumerate(zip((w, b), grads, strict=False)):
            if adam:
                m[i] = 0.9 * m[i] + 0.1 * grad
                v[i] = 0.999 * v[i] + 0.001 * grad * grad
                step = lr * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
            else:
                step = lr * grad
            param -= step
    return w, b


def linear_probe(x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The baseline: plain softmax regression, 600 full-batch gradient-descent steps."""
    return _fit(x, y, n_classes, np.ones(len(y)), l2=0.0, steps=600, lr=0.05, adam=False)


def fit_head(x_views: np.ndarray, y: np.ndarray, n_classes: int, l2: float = 1e-3, steps: int = 300,
             lr: float = 0.01, aux=None) -> tuple[np.ndarray, np.ndarray]:
    """The shipped head: ``x_views`` is ``(n, views, d)``; each view is a training example.

    ``aux`` ``(x_views, y, share)``: more examples (renders: ml/render_aux.py), class-balanced
    among themselves and weighing ``share`` times the first ones together."""
    xs, ys = _examples(x_views, y)
    sw = class_weights(ys, n_classes)[ys]
    if aux is not None and len(aux[1]):
        axs, ays = _examples(aux[0], aux[1])
        aw = class_weights(ays, n_classes)[ays]
        xs, ys = np.concatenate([xs, axs]), np.concatenate([ys, ays])
        sw = np.concatenate([sw, aw * aux[2] * sw.sum() / aw.sum()])
    return _fit(xs, ys, n_classes, sw, l2=l2, steps=steps, lr=lr, adam=True)


def _examples(x_views: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, views = x_views.shape[:2]
    return x_views.reshape(n * views, -1), np.repeat(y, views)


def predict(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, classes)`` for embeddings ``x`` ``(n, d)``."""
    return softmax(unit(x) * SCALE @ w + b)


def fit_temperature(probs: np.ndarray, y: np.ndarray, offset=0.0) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(log p / T + offset) on
    ``y``; ``offset`` (per class) is a log prior added after the temperature, which scales only
    what the picture says."""
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 200)):
        z = logits / t + offset
        z = z - z.max(1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def group_folds(groups, k: int, seed: int = 0) -> np.ndarray:
    """Fold id (0..k-1) per example, every group (a piece, a photo) wholly in one fold.

    Groups are shuffled by ``seed`` and each goes, largest first, to the fold with the fewest
    examples so far, so folds are about the same size however uneven the groups are."""
    keys = np.asarray([str(g) for g in groups])
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    k = max(1, min(k, len(uniq)))
    order = np.random.default_rng(seed).permutation(len(uniq))
    order = order[np.argsort(-counts[order], kind="stable")]
    size, fold_of_group = np.zeros(k, int), np.zeros(len(uniq), int)
    for g in order:
        f = int(np.argmin(size))
        fold_of_group[g] = f
        size[f] += counts[g]
    return fold_of_group[inverse]


def out_of_fold(x_views: np.ndarray, y: np.ndarray, x_test: np.ndarray, n_classes: int, folds: np.ndarray,
                aux=None) -> np.ndarray:
    """Class probabilities ``(n, classes)`` of each example from a head fitted on the other folds
    (and on every ``aux`` example: see :func:`fit_head`)."""
    probs = np.zeros((len(y), n_classes))
    for f in np.unique(folds):
        held = folds == f
        w, b = fit_head(x_views[~held], y[~held], n_classes, aux=aux)
        probs[held] = predict(w, b, x_test[held])
    return probs


def train_attribute(x_views: np.ndarray, y: np.ndarray, x_test: np.ndarray, groups, values, alpha: float,
                    delta: float, min_value_labels: int, folds: int = 5, seed: int = 0, oof=None, aux=None) -> dict:
    """The shipped recipe for one attribute, cross-fitted (ml/conformal.py :func:`cross_fit_threshold`).

    ``x_views`` ``(n, views, d)`` are the training views, ``x_test`` ``(n, d)`` the same photos'
    test views, ``groups`` what may not be split between folds (a piece; a photo). Each photo is
    scored by a head fitted on the other ``folds``; the temperature and the flag threshold are
    fitted on all those out-of-fold scores; the head that ships is fitted on every photo.

    ``oof`` ``(n, classes)``, when given, are out-of-fold probabilities from elsewhere (a
    fine-tuned embedding must be cross-fitted with its heads: ml/tuned_recipe.py) and replace
    the folds' heads here. ``aux`` (see :func:`fit_head`) joins every head's training
    examples, never the out-of-fold scores.

    Returns ``{"w", "b", "temperature", "calibration", "oof_accuracy"}``; ``w``/``b`` have the
    temperature folded in.
    """
    n_classes = len(values)
    counts = np.bincount(y, minlength=n_classes)
    known = [v for v, c in zip(values, counts, strict=False) if c >= min_value_labels]
    fold = group_folds(groups, folds, seed)
    n_folds = len(np.unique(fold))
    w, b = fit_head(x_views, y, n_classes, aux=aux)
    if len(y) >= 5 and n_folds >= 2:
        oof = out_of_fold(x_views, y, x_test, n_classes, fold, aux) if oof is None else np.asarray(oof)
        t = fit_temperature(oof, y)
        oof = softmax(np.log(np.clip(oof, 1e-12, 1.0)) / t)
        cal = conformal.cross_fit_threshold(oof.max(1), oof.argmax(1) == y, alpha, delta)
        cal["folds"] = n_folds
        oof_accuracy = round(float((oof.argmax(1) == y).mean()), 4)
    else:
        t, oof_accuracy = 1.0, None
        cal = {"threshold": conformal.NEVER, "alpha": alpha, "delta": delta, "n_cal": int(len(y)),
               "reason": "too few photos or groups to cross-fit"}
    cal["known_values"] = known
    return {"w": w / t, "b": b / t, "temperature": round(float(t), 4), "calibration": cal,
            "oof_accuracy": oof_accuracy}


def probe_scores(train_emb: np.ndarray, train_labels: list[dict], test_emb: np.ndarray, test_labels: list[dict],
                 taxonomy, min_labels: int = 2) -> dict[str, dict]:
    """The linear probe's held-out accuracy and macro-F1 per attribute (the baseline beside a
    candidate): fitted on ``train_emb`` (plain view), scored on ``test_emb``."""
    out = {}
    for attr in taxonomy.names:
        values = taxonomy.values(attr)
        tr = [(i, values.index(lab[attr])) for i, lab in enumerate(train_labels) if lab.get(attr) in values]
        te = [(i, values.index(lab[attr])) for i, lab in enumerate(test_labels) if lab.get(attr) in values]
        if len(tr) < min_labels or len({y for _, y in tr}) < 2 or not te:
            continue
        w, b = linear_probe(train_emb[[i for i, _ in tr]], np.array([y for _, y in tr]), len(values))
        pred = predict(w, b, test_emb[[i for i, _ in te]]).argmax(1)
        truth = np.array([y for _, y in te])
        out[attr] = {"n": len(te), "accuracy": round(float((pred == truth).mean()), 4),
                     "macro_f1": round(macro_f1(confusion(list(truth), list(pred), len(values))), 4)}
    return out
