"""The rendered starter catalogue as auxiliary training photos for a recipe measured on real ones.

``python -m ml.crossval --aux-renders DIR --aux-weight W`` adds renders (ml/render/catalog.py:
``NNNNNN.jpg`` and ``NNNNNN.json``) to every head's training photos: for an attribute, only the
renders whose value is one the split's real training photos have, two views each (the render and
its mirror image), class-balanced among themselves and weighted so that together they weigh
``W`` times the real photos. Out-of-fold scores, temperature and flags stay on real photos only.
"""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image

from ml.features import cached_views
from ml.render.catalog import load_renders

VIEWS = ("plain", "flip")


def render_features(image_model, folder, attributes, keep, feature_cache=None, log=None):
    """``(features (n, len(VIEWS), d), labels)`` of the renders whose value of some attribute
    in ``attributes`` is in ``keep[attribute]``; embedded once, cached by content."""
    items = [(p, lab) for p, lab in load_renders(folder) if any(lab.get(a) in keep[a] for a in attributes)]
    keys = ["render-" + hashlib.sha256(p.read_bytes()).hexdigest()[:20] for p, _ in items]
    if log:
        log(f"{len(items)} renders with a value the photos have, {len(VIEWS)} views each")
    feats = cached_views(image_model, [_loader(p) for p, _ in items], keys, VIEWS, feature_cache, log)
    return feats, [lab for _, lab in items]


def _loader(path):
    def load():
        with Image.open(path) as im:
            return im.convert("RGB")
    return load


def for_attribute(feats, labels, attr, values, train_values):
    """The renders' features and label indices (into ``values``) for one head: those whose
    ``attr`` is among ``train_values`` (what the split's real training photos have)."""
    keep = [i for i, lab in enumerate(labels) if lab.get(attr) in train_values]
    return feats[keep], np.array([values.index(labels[i][attr]) for i in keep], int)
