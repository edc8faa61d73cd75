"""The attribute recipe on a fine-tuned backbone top, cross-fitted so its flags stay honest.

The shipped heads (ml/heads.py) read the frozen ImageNet embedding. Here blocks 14-15 and the
head conv are first tuned jointly for every attribute the photos label (ml/finetune.py: cached
trunk maps of ``VIEWS`` augmented views per photo, heads warm-started from the shipped heads on
the ImageNet embedding, early stopping and keep-or-discard on a fifth of the photos by piece),
then the shipped heads are fitted on the tuned embedding.

A threshold calibrated on out-of-fold scores is only honest if the embedding did not see the
scored photos either, so the whole fine-tune is cross-fitted: each of ``FOLDS`` halves is scored
by a top tuned on the other half alone. Those tops saw half the photos, so they err at least as
often as the one tuned on all of them: the threshold leans towards flagging, not away from it.
Two folds make three fine-tunes per model instead of six with five folds.
"""
from __future__ import annotations

import numpy as np

from ml import heads, recipe

VIEWS = 8  # trunk views per training photo: the photo and 7 random crop/flip/rotation/jitter views
FOLDS = 2
VAL_SHARE_FOLDS = 5  # one of this many folds by piece is the fine-tune's validation split


def _label_ids(labels, attr, values) -> np.ndarray:
    return np.array([values.index(lab[attr]) if lab.get(attr) in values else -1 for lab in labels], np.int64)


def tuned_model(trunk: np.ndarray, imagenet: np.ndarray, labels: list[dict], taxonomy, groups, seed: int = 0,
                cache_dir=None, log=None):
    """A Lite0 model (Keras serving) whose top is tuned on ``trunk`` maps ``(n, views, h, w, c)``.

    ``imagenet`` holds the same views' ImageNet embeddings ``(n, views, 1280)`` (the anchor, and
    what the warm-start heads are fitted on, the validation photos left out); ``labels`` name
    values of ``taxonomy``. Returns the
    model and ml/finetune.py's report (the top is ImageNet's when the tuned one was not kept).
    """
    from ml.finetune import fine_tune  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.image_model import ImageAttributeModel, _build_heads  # noqa: PLC0415  (lazy: loads TensorFlow)

    model = ImageAttributeModel(recipe.IMAGE_SIZE, cache_dir, serving="keras", arch="lite0", taxonomy=taxonomy)
    model.heads = _build_heads(taxonomy)
    val = heads.group_folds(groups, VAL_SHARE_FOLDS, seed) == 0
    attrs = {}
    for attr in taxonomy.names:
        values = list(taxonomy.values(attr))
        y = _label_ids(labels, attr, values)
        known = (y >= 0) & ~val  # the warm start must not see the validation photos either
        if len(set(y[known])) >= 2:
            w, b = heads.fit_head(imagenet[known], y[known], len(values))
            model.heads.get_layer(attr).set_weights([w, b])
            attrs[attr] = 1.0
    report = fine_tune(model, trunk, imagenet, labels, attrs, np.flatnonzero(~val), np.flatnonzero(val), seed,
                       log or (lambda _: None))
    return model, report


def embeddings(model, trunk: np.ndarray, flipped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Training views ``(n, views + 1, 1280)`` (the trunk views and the mirror image) and test
    embeddings ``(n, 1280)`` (the photo and its mirror image averaged, as the shipped recipe)."""
    from ml.train_catalog import embed_views  # noqa: PLC0415  (lazy: loads TensorFlow)

    views = np.concatenate([embed_views(model, trunk), embed_views(model, flipped)], 1)
    return views, (views[:, 0] + views[:, -1]) / 2


def train_attribute(trunk, flipped, imagenet, labels, taxonomy, attr: str, groups, alpha: float, delta: float,
                    min_value_labels: int, seed: int = 0, cache_dir=None, log=None) -> dict:
    """ml/heads.py :func:`~ml.heads.train_attribute` on a tuned embedding, the fine-tune cross-fitted.

    Every array is over the training photos: ``trunk`` ``(n, VIEWS, h, w, c)`` and ``flipped``
    ``(n, 1, h, w, c)`` trunk maps, ``imagenet`` ``(n, VIEWS, 1280)`` their ImageNet embeddings,
    ``labels`` their values of every attribute (the fine-tune learns them all; ``attr`` is known
    on every photo), ``groups`` their pieces. Returns the heads' dict plus ``model`` (the top
    tuned on every photo) and ``tuned`` (whether each fine-tune kept its top: the folds', then
    the final one's).
    """
    values = list(taxonomy.values(attr))
    y = _label_ids(labels, attr, values)
    fold = heads.group_folds(groups, FOLDS, seed)
    oof, kept = np.zeros((len(y), len(values))), []
    for f in range(FOLDS):
        fit, held = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
        model, report = tuned_model(trunk[fit], imagenet[fit], [labels[i] for i in fit], taxonomy,
                                    [groups[i] for i in fit], seed, cache_dir, log)
        kept.append(report["kept"])
        x_views, _ = embeddings(model, trunk[fit], flipped[fit])
        _, x_held = embeddings(model, trunk[held], flipped[held])
        w, b = heads.fit_head(x_views, y[fit], len(values))
        oof[held] = heads.predict(w, b, x_held)
    model, report = tuned_model(trunk, imagenet, labels, taxonomy, groups, seed, cache_dir, log)
    kept.append(report["kept"])
    x_views, x_test = embeddings(model, trunk, flipped)
    head = heads.train_attribute(x_views, y, x_test, groups, values, alpha, delta, min_value_labels, FOLDS, seed,
                                 oof=oof)
    return {**head, "model": model, "tuned": kept}
