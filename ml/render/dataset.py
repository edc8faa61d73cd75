"""Renders as training items: their scene labels mapped onto the model's vocabulary.

The renderer labels every image with the full default taxonomy.  A model trained with a
smaller vocabulary (``ml.vocab``) learns each attribute from the renders whose value it
has, after folding values into the broader one it knows ("sterling silver" is silver;
vermeil and plating look gold).  A value it cannot name becomes ``None``, which its head
ignores (never relabelled); renders whose category is unknown to it are left out.
"""
from __future__ import annotations

from PIL import Image

from ml.render.catalog import load_renders

BROADER = {"metal": {"sterling silver": "silver", "gold vermeil": "gold", "gold plated": "gold"}}


def to_vocab(labels: dict, attributes=None, partial: bool = False) -> dict | None:
    """``labels`` restricted to ``attributes`` (default: the default taxonomy's).

    An unknown value makes the whole item None, or (``partial``) that value None; an
    unknown category always makes it None."""
    from ml.taxonomy import DEFAULT

    attributes = attributes or DEFAULT.attributes
    out = {}
    for a, values in attributes.items():
        v = labels.get(a)
        if v not in values:
            v = BROADER.get(a, {}).get(v)
        if v not in values:
            if not partial or a == "category":
                return None
            v = None
        out[a] = v
    return out


def training_items(folder, count: int | None = None, attributes=None, partial: bool = True) -> tuple[list, list, list]:
    """``(images, labels in the vocabulary, full scene labels)`` of the usable renders among
    the first ``count`` in ``folder`` (with ``partial``, labels may hold ``None``)."""
    images, labels, scene = [], [], []
    for path, lab in load_renders(folder, count):
        mapped = to_vocab(lab, attributes, partial)
        if mapped is None:
            continue
        with Image.open(path) as im:
            images.append(im.convert("RGB"))
        labels.append(mapped)
        scene.append(lab)
    return images, labels, scene
