"""Fine-tuning the backbone's top blocks on the catalogue, from cached trunk feature maps.

Blocks 0-13 stay as ImageNet made them, so each photo (and each augmented view) goes
through them once and their small output map is cached (ml/train_catalog.py); only
blocks 14-15, the 1280-d head conv and the attribute heads train, which takes minutes
on a CPU for a few thousand photos. BatchNorm statistics stay frozen: catalogue batches
are small and one-sided. A cosine "anchor" term keeps the embedding near the ImageNet
one, because the describer and the heads of attributes the catalogue does not label
were trained on that embedding. The tuned top is kept only if it beats the heads-only
model on the validation split.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.heads import class_weights

MAX_EPOCHS = 12
PATIENCE = 3  # epochs without a lower validation loss before stopping
BATCH_SIZE = 32
LEARNING_RATE = 1e-4
ANCHOR_WEIGHT = 1.0
LABEL_SMOOTHING = 0.1  # of the training targets (Szegedy et al. 2016); validation scores the plain loss
MIN_VAL_PHOTOS = 5  # below this the validation split cannot tell a better model from luck


def trunk_runner(image_model):
    """Blocks 0..FIRST_TOP_BLOCK-1 (with the [0, 255] input scaling) as a cached TFLite model."""
    from ml.efficientnet_lite import WEIGHTS_VERSION, default_cache_dir, trunk_model  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.image_model import FIRST_TOP_BLOCK  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tflite_backbone import TFLiteBackbone, write_tflite  # noqa: PLC0415  (lazy: loads TensorFlow)

    cache = Path(image_model.cache_dir) if image_model.cache_dir else default_cache_dir()
    path = cache / f"efficientnet_{WEIGHTS_VERSION}_trunk{FIRST_TOP_BLOCK}_{image_model.image_size}.tflite"
    if not path.exists():
        write_tflite(trunk_model(image_model.backbone, FIRST_TOP_BLOCK), path)
    return TFLiteBackbone(path, image_model.image_size)


def label_indices(labels, attrs, rows, taxonomy) -> dict[str, np.ndarray]:
    """Class index per attribute for each of ``rows`` (-1 where the label is unknown)."""
    return {a: np.array([taxonomy.index_of(a, labels[i][a]) if taxonomy.knows(a, labels[i].get(a)) else -1
                         for i in rows], np.int32) for a in attrs}


def _trainable_copies(image_model, shape, attrs: dict[str, float]):
    """Copies of ``image_model``'s top blocks (BatchNorm frozen) and heads (each of ``attrs`` unscaled)."""
    from ml.efficientnet_lite import build_top, copy_weights  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.image_model import FIRST_TOP_BLOCK, _build_heads  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tf_setup import keras  # noqa: PLC0415  (lazy: loads TensorFlow)

    top = build_top(shape, FIRST_TOP_BLOCK)
    copy_weights(image_model.top(), top)
    for layer in top.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # runs with the ImageNet statistics, in training too
    heads = _build_heads(image_model.taxonomy)
    heads.set_weights(image_model.heads.get_weights())
    for attr, temperature in attrs.items():
        layer = heads.get_layer(attr)
        layer.set_weights([w * temperature for w in layer.get_weights()])
    return top, heads


def _sample_weights(y: dict[str, np.ndarray], taxonomy) -> dict[str, np.ndarray]:
    """Per-sample class-balancing weight for each attribute's labels ``y`` (0 where unknown)."""
    weights = {}
    for a, ys in y.items():
        cw = class_weights(ys[ys >= 0], len(taxonomy.values(a)))
        weights[a] = np.where(ys >= 0, cw[np.maximum(ys, 0)], 0.0).astype(np.float32)
    return weights


def _loss(probs, ys, ws, attrs, smoothing: float = 0.0):
    """Mean over ``attrs`` of the weighted cross-entropy, targets smoothed by ``smoothing``."""
    from ml.tf_setup import tf  # noqa: PLC0415  (lazy: loads TensorFlow)

    total = 0.0
    for a in attrs:
        log_p = tf.math.log(tf.clip_by_value(probs[a], 1e-7, 1.0))
        nll = -tf.gather(log_p, tf.maximum(ys[a], 0), batch_dims=1)
        if smoothing:
            nll = (1.0 - smoothing) * nll - smoothing * tf.reduce_mean(log_p, -1)
        total += tf.reduce_sum(nll * ws[a]) / tf.maximum(tf.reduce_sum(ws[a]), 1e-6)
    return total / len(attrs)


def fine_tune(image_model, trunk: np.ndarray, anchor: np.ndarray, labels: list[dict], attrs: dict[str, float],
              train_idx: np.ndarray, val_idx: np.ndarray, seed: int = 0, log=print) -> dict:
    """Tune the top blocks and the heads of ``attrs`` on ``trunk`` maps ``(n, views, h, w, c)``.

    ``attrs`` maps each trained attribute to the temperature folded into its head; training
    starts from the unscaled head (a sharpened one would make the first steps far too big).
    ``anchor`` holds the heads-only embeddings ``(n, views, 1280)``. The epoch with the lowest
    validation loss is the candidate; when its mean validation accuracy over ``attrs`` beats
    the heads-only model's (or ties with a lower loss), ``image_model`` gets the tuned top and
    heads (calibration is left to the caller); otherwise it is left as it was. Returns a report.
    """
    from ml.image_model import FIRST_TOP_BLOCK  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tf_setup import keras, seed_everything, tf  # noqa: PLC0415  (lazy: loads TensorFlow)

    if not attrs:
        return {"kept": False, "reason": "no attribute head was trained"}
    if len(val_idx) < MIN_VAL_PHOTOS:
        return {"kept": False, "reason": f"needs {MIN_VAL_PHOTOS} validation photos, has {len(val_idx)}"}
    seed_everything(seed)
    views, shape = trunk.shape[1], trunk.shape[2:]
    top, heads = _trainable_copies(image_model, shape, attrs)
    y_train = label_indices(labels, attrs, np.repeat(train_idx, views), image_model.taxonomy)
    weights = _sample_weights(y_train, image_model.taxonomy)
    x_train = trunk[train_idx].reshape(-1, *shape)
    a_train = anchor[train_idx].reshape(-1, anchor.shape[-1])
    x_val, y_val = trunk[val_idx, 0], label_indices(labels, attrs, val_idx, image_model.taxonomy)
    variables = top.trainable_variables + [v for v in heads.trainable_variables
                                           if v.path.split("/")[0] in attrs]
    optimizer = keras.optimizers.Adam(LEARNING_RATE)

    @tf.function(reduce_retracing=True)
    def step(x, anchor_emb, ys, ws):
        with tf.GradientTape() as tape:
            emb = top(x, training=True)
            loss = _loss(heads(emb, training=True), ys, ws, attrs, LABEL_SMOOTHING)
            cosine = tf.reduce_sum(tf.math.l2_normalize(emb, -1) * tf.math.l2_normalize(anchor_emb, -1), -1)
            loss += ANCHOR_WEIGHT * tf.reduce_mean(1.0 - cosine) + tf.add_n(heads.losses)
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    def validate():
        probs = heads(top(x_val, training=False), training=False)
        known = {a: y_val[a] >= 0 for a in attrs}
        ws = {a: known[a].astype(np.float32) for a in attrs}
        loss = float(_loss(probs, y_val, ws, attrs))
        accs = [float((np.asarray(probs[a]).argmax(1) == y_val[a])[known[a]].mean()) for a in attrs if known[a].any()]
        return loss, float(np.mean(accs)) if accs else 0.0

    rng = np.random.default_rng(seed)
    start_loss, start_acc = validate()
    best, history, waited = None, [], 0
    for epoch in range(MAX_EPOCHS):
        order = rng.permutation(len(x_train))
        for i in range(0, len(order), BATCH_SIZE):
            sel = order[i:i + BATCH_SIZE]
            step(tf.constant(x_train[sel]), tf.constant(a_train[sel]),
                 {a: tf.constant(y_train[a][sel]) for a in attrs}, {a: tf.constant(weights[a][sel]) for a in attrs})
        loss, acc = validate()
        history.append({"epoch": epoch + 1, "val_loss": round(loss, 4), "val_accuracy": round(acc, 4)})
        log(f"  fine-tune epoch {epoch + 1}: val loss {loss:.3f}, val accuracy {acc:.3f}")
        if best is None or loss < best[0]:
            best, waited = (loss, acc, (top.get_weights(), heads.get_weights())), 0
        else:
            waited += 1
            if waited >= PATIENCE:
                break
    # More right answers on the validation photos; on a tie, surer right answers (lower loss).
    kept = best[1] > start_acc or (best[1] == start_acc and best[0] < start_loss)
    report = {"kept": kept, "first_block": FIRST_TOP_BLOCK, "epochs_run": len(history),
              "val_before": {"loss": round(start_loss, 4), "accuracy": round(start_acc, 4)},
              "val_after": {"loss": round(best[0], 4), "accuracy": round(best[1], 4)},
              "history": history, "attributes": list(attrs)}
    if kept:
        top.set_weights(best[2][0])
        image_model.heads.set_weights(best[2][1])
        image_model.set_tuned_top({layer.name: layer.get_weights() for layer in top.layers if layer.weights})
    else:
        report["reason"] = "no better than the heads alone on the validation split"
    return report
