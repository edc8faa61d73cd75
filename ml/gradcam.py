"""Grad-CAM: where in the photo the image model looked when it chose the category.

The gradient of the predicted category's probability with respect to the backbone's
last feature map weights that map's channels; their positive sum, upsampled, is the
heatmap. Run by the worker (TensorFlow), stored as a PNG overlay for the admin page.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ml.features import GEM_P, colour_descriptor, split_parts
from ml.zoom import PARTS as ZOOM_PARTS


def category_heatmap(image_model, image: Image.Image, attribute: str = "category") -> tuple[np.ndarray, str]:
    """``(heatmap in [0, 1] of the square model input, predicted value)`` for one photo."""
    from ml.image_model import to_square  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tf_setup import keras, tf  # noqa: PLC0415  (lazy: loads TensorFlow)

    backbone = image_model.backbone
    feature_map = backbone.get_layer("head_relu").output
    probe = keras.Model(backbone.inputs, [feature_map, backbone.output])
    x = to_square(image, image_model.image_size)[None]
    with tf.GradientTape() as tape:
        fmap, pooled = probe(x, training=False)
        tape.watch(fmap)
        # The pooled embedding is the mean of the feature map, recomputed so the gradient flows.
        probs = image_model.heads(_head_input(image_model, fmap, image, tf), training=False)[attribute]
        k = int(tf.argmax(probs[0]))
        score = probs[0, k]
    grads = tape.gradient(score, fmap)[0].numpy()
    weights = grads.mean(axis=(0, 1))
    cam = np.maximum((fmap[0].numpy() * weights).sum(-1), 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    return cam.astype(np.float32), image_model.taxonomy.values(attribute)[k]


def _head_input(image_model, fmap, image, tf):
    """What the heads read, from the feature map: its mean, and the bundle's extra parts
    (ml/features.py), each unit length as :func:`ml.features.head_input` makes them."""
    pooled = tf.reduce_mean(fmap, axis=(1, 2))
    if not image_model.extras:
        return pooled
    parts = [pooled]
    if "gem" in image_model.extras:
        parts.append(tf.pow(tf.reduce_mean(tf.pow(tf.maximum(fmap, 1e-6), GEM_P), axis=(1, 2)), 1.0 / GEM_P))
    if "colour" in image_model.extras:  # no gradient: it does not depend on the feature map
        parts.append(tf.constant(colour_descriptor(image)[None]))
    zoomed = [p for p in ZOOM_PARTS if p in image_model.extras]
    if zoomed:  # the crop round the piece, from its own backbone pass: a constant here too
        feats = image_model.embed([image], views=("plain",))
        parts += [tf.constant(p[None]) for p in split_parts(feats[0], image_model.extras, zoomed)]
    return tf.concat([tf.math.l2_normalize(p, -1) for p in parts], -1)


def overlay_png(image: Image.Image, cam: np.ndarray, size: int = 320, alpha: float = 0.45) -> bytes:
    """The photo (padded square, as the model saw it) with the heatmap in red/yellow over it."""
    from ml.image_model import to_square  # noqa: PLC0415  (lazy: loads TensorFlow)

    base = Image.fromarray(to_square(image, size).astype(np.uint8))
    heat = np.asarray(Image.fromarray((cam * 255).astype(np.uint8)).resize((size, size), Image.BILINEAR),
                      np.float32) / 255.0
    colour = np.stack([np.ones_like(heat), heat, np.zeros_like(heat)], -1) * 255  # red -> yellow
    mix = np.asarray(base, np.float32) * (1 - alpha * heat[..., None]) + colour * alpha * heat[..., None]
    out = io.BytesIO()
    Image.fromarray(mix.clip(0, 255).astype(np.uint8)).save(out, "PNG")
    return out.getvalue()
