"""Grad-CAM: where in the photo the image model looked when it chose the category.

The gradient of the predicted category's probability with respect to the backbone's
last feature map weights that map's channels; their positive sum, upsampled, is the
heatmap. Run by the worker (TensorFlow), stored as a PNG overlay for the admin page.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image


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
        probs = image_model.heads(tf.reduce_mean(fmap, axis=(1, 2)), training=False)[attribute]
        k = int(tf.argmax(probs[0]))
        score = probs[0, k]
    grads = tape.gradient(score, fmap)[0].numpy()
    weights = grads.mean(axis=(0, 1))
    cam = np.maximum((fmap[0].numpy() * weights).sum(-1), 0)
    cam = cam / cam.max() if cam.max() > 0 else cam
    return cam.astype(np.float32), image_model.taxonomy.values(attribute)[k]


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
