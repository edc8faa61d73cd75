"""A product judged from all its photos: per-photo attribute probabilities combined into one.

Photos of one piece are evidence about the same values, but they are not independent
(same piece, same light), so multiplying them would be far too sure. The combination is
the normalised geometric mean (the mean of log-probabilities): a value every photo
supports stays likely, a value one photo rules out drops, and the result is never surer
than the surest photo's own numbers allow. The calibrated thresholds and the consistency
rules then apply to the combined probabilities as to a single photo's.
"""
from __future__ import annotations

import numpy as np


def combine(per_photo: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{attribute: (photos, values)}`` -> ``{attribute: (1, values)}``."""
    out = {}
    for attr, probs in per_photo.items():
        logp = np.log(np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)).mean(0)
        p = np.exp(logp - logp.max())
        out[attr] = (p / p.sum())[None]
    return out


def predict_product(image_model, embeddings: np.ndarray, fixed: dict | None = None) -> dict:
    """One attribute row (as :meth:`ml.image_model.ImageAttributeModel.predict_features`) for a
    product whose photos have ``embeddings`` ``(photos, d)``; ``fixed`` holds a person's values."""
    combined = combine(image_model.probabilities(embeddings))
    return image_model.predict_probabilities(combined, [fixed or {}])[0]
