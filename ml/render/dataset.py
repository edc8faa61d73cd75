"""Renders as training items: their scene labels mapped onto the model's vocabulary.

The renderer labels every image with the full default taxonomy.  A model trained with a
smaller vocabulary (``ml.vocab``) learns from the renders whose values it has, after
folding values into the broader one it knows ("sterling silver" is silver; vermeil and
plating look gold); renders with a value it cannot name are left out, not relabelled.
"""
from __future__ import annotations

from PIL import Image

from ml import vocab
from ml.render.catalog import load_renders

BROADER = {"metal": {"sterling silver": "silver", "gold vermeil": "gold", "gold plated": "gold"}}


def to_vocab(labels: dict, attributes=None) -> dict | None:
    """``labels`` restricted to ``attributes`` (default ``vocab.ATTRIBUTES``), or None if one value is unknown."""
    attributes = attributes or vocab.ATTRIBUTES
    out = {}
    for a, values in attributes.items():
        v = labels.get(a)
        if v not in values:
            v = BROADER.get(a, {}).get(v)
        if v not in values:
            return None
        out[a] = v
    return out


def training_items(folder, count: int | None = None, attributes=None) -> tuple[list, list, list]:
    """``(images, labels in the vocabulary, full scene labels)`` of the usable renders among
    the first ``count`` in ``folder``."""
    images, labels, scene = [], [], []
    for path, lab in load_renders(folder, count):
        mapped = to_vocab(lab, attributes)
        if mapped is None:
            continue
        with Image.open(path) as im:
            images.append(im.convert("RGB"))
        labels.append(mapped)
        scene.append(lab)
    return images, labels, scene
