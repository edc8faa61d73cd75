"""The marketplace's photos moved onto the renders' features, without a label.

The starter's heads learnt from renders; a real photo's features sit elsewhere, and much of that
gap is a shift of the whole distribution (the mean of real photos' head inputs is far from the
renders'). Re-centring corrects the shift: each photo's head input, minus the mean of the
marketplace's own recent photos, plus the mean of the pictures the heads learnt from. It needs
no label, only photos the marketplace has uploaded, whose features the worker already stores
for "more like this" (webapp/listings/embeddings.py). Fewer than :data:`MIN_PHOTOS` give too
noisy a mean to move every photo by, so until then nothing moves. Only bundles trained on
another domain carry the renders' mean (the starter); a version trained on the marketplace's
own photos has no gap to close.
"""
from __future__ import annotations

import numpy as np

from ml.features import head_input

MIN_PHOTOS = 100  # the marketplace's photos needed before their mean is used
RECENT_PHOTOS = 2000  # the most recent photos the mean is taken over
SOURCE_FILE = "source_mean.npy"


def feature_mean(features: np.ndarray, extras=()) -> np.ndarray:
    """The mean head input (ml/features.py :func:`~ml.features.head_input`) of ``features`` rows."""
    return head_input(np.asarray(features, np.float32), extras).mean(0).astype(np.float32)


class Alignment:
    """The renders' mean head input, and the marketplace's once it has enough photos."""

    def __init__(self, source_mean: np.ndarray):
        self.source_mean = np.asarray(source_mean, np.float32)
        self.target_mean: np.ndarray | None = None
        self.n_target = 0

    def fit_target(self, features: np.ndarray, extras=()) -> bool:
        """Take the marketplace's photos' ``features`` (stored rows); returns whether they are
        enough to align by (otherwise any earlier target is dropped and nothing moves)."""
        features = np.asarray(features, np.float32)
        self.n_target = len(features)
        if len(features) < MIN_PHOTOS:
            self.target_mean = None
            return False
        self.target_mean = feature_mean(features, extras)
        return True

    @property
    def active(self) -> bool:
        return self.target_mean is not None

    def apply(self, head_in: np.ndarray) -> np.ndarray:
        """Head inputs moved by the renders' mean minus the marketplace's (unchanged until active)."""
        if self.target_mean is None:
            return head_in
        return (np.asarray(head_in, np.float32) - self.target_mean + self.source_mean).astype(np.float32)
