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

from ml.features import unit

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
             lr: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """The shipped head: ``x_views`` is ``(n, views, d)``; each view is a training example."""
    n, views = x_views.shape[:2]
    xs = x_views.reshape(n * views, -1)
    ys = np.repeat(y, views)
    return _fit(xs, ys, n_classes, class_weights(ys, n_classes)[ys], l2=l2, steps=steps, lr=lr, adam=True)


def predict(w: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Class probabilities ``(n, classes)`` for embeddings ``x`` ``(n, d)``."""
    return softmax(unit(x) * SCALE @ w + b)


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(log p / T) on ``y``."""
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 200)):
        z = logits / t
        z = z - z.max(1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def train_attribute(x_fit: np.ndarray, y_fit: np.ndarray, x_cal: np.ndarray, y_cal: np.ndarray, values,
                    alpha: float, delta: float, min_value_labels: int) -> dict:
    """The shipped recipe for one attribute: a head fitted on ``x_fit`` ``(n, views, d)``, its
    temperature and its flag threshold calibrated on held-out ``x_cal`` ``(m, d)`` (test views).

    Returns ``{"w", "b", "temperature", "calibration"}``; ``w``/``b`` have the temperature folded in.
    """
    from ml import conformal

    w, b = fit_head(x_fit, y_fit, len(values))
    counts = np.bincount(y_fit, minlength=len(values))
    known = [v for v, c in zip(values, counts, strict=False) if c >= min_value_labels]
    if len(y_cal) >= 5:
        t = fit_temperature(predict(w, b, x_cal), y_cal)
        w, b = w / t, b / t
        probs = predict(w, b, x_cal)
        cal = conformal.threshold(probs.max(1), probs.argmax(1) == y_cal, alpha, delta)
    else:
        t, cal = 1.0, {"threshold": conformal.NEVER, "alpha": alpha, "delta": delta, "n_cal": int(len(y_cal)),
                       "reason": "too few held-out photos to calibrate"}
    cal["known_values"] = known
    return {"w": w, "b": b, "temperature": round(float(t), 4), "calibration": cal}


def probe_scores(train_emb: np.ndarray, train_labels: list[dict], test_emb: np.ndarray, test_labels: list[dict],
                 taxonomy, min_labels: int = 2) -> dict[str, dict]:
    """The linear probe's held-out accuracy and macro-F1 per attribute (the baseline beside a
    candidate): fitted on ``train_emb`` (plain view), scored on ``test_emb``."""
    from ml.scoring import confusion, macro_f1

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
