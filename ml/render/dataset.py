"""Renders as training items: their scene labels mapped onto a model's taxonomy, and crops
around the piece from each render's mask.

The renderer labels every image with the default taxonomy (``ml.taxonomy.DEFAULT``).  A
model trained with a narrower taxonomy learns each attribute from the renders whose value
it has, after folding values into the broader one it knows ("sterling silver" is silver;
vermeil and plating look gold).  A value it cannot name becomes ``None``, which its head
leaves out (never relabelled); renders whose category is unknown to it are left out.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ml.render.catalog import load_renders
from ml.taxonomy import DEFAULT

BROADER = {"metal": {"sterling silver": "silver", "gold vermeil": "gold", "gold plated": "gold"}}
# Values a photo cannot tell apart: the renderer draws them with the same material (vermeil and
# plating are tinted gold, sterling is silver), so the starter learns the look, not the hallmark.
LOOKALIKES = BROADER
# Crops around the piece, as multiples of its mask's bounding box (with the context around it):
# real photos are often close-ups, where the piece fills most of the frame.
CROP_SCALES = (1.4, 2.2)


def to_taxonomy(labels: dict, taxonomy=None, partial: bool = False, lookalikes: bool = False) -> dict | None:
    """``labels`` restricted to ``taxonomy``'s attributes (default: ``ml.taxonomy.DEFAULT``).

    An unknown value makes the whole item None, or (``partial``) that value None; an
    unknown category always makes it None. With ``lookalikes``, values a photo cannot tell
    apart are folded into the one it shows (:data:`LOOKALIKES`)."""
    attributes = (taxonomy or DEFAULT).attributes
    out = {}
    for a, values in attributes.items():
        v = labels.get(a)
        if lookalikes:
            v = LOOKALIKES.get(a, {}).get(v, v)
        if v not in values:
            v = BROADER.get(a, {}).get(v)
        if v not in values:
            if not partial or a == "category":
                return None
            v = None
        out[a] = v
    return out


def mask_path(image_path) -> Path:
    p = Path(image_path)
    return p.with_name(f"{p.stem}_mask.png")


def piece_crops(image: Image.Image, mask: Image.Image, scales=CROP_SCALES) -> list[Image.Image]:
    """Square crops centred on the piece, each ``scale`` times its bounding box's longer side
    (clipped to the frame); the whole picture where the mask is empty."""
    m = np.asarray(mask.convert("L")) > 127
    if not m.any():
        return [image.copy() for _ in scales]
    ys, xs = np.nonzero(m)
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    side = max(xs.max() - xs.min(), ys.max() - ys.min(), 8)
    w, h = image.size
    out = []
    for s in scales:
        half = min(side * s / 2, max(w, h) / 2)
        box = (int(max(0, cx - half)), int(max(0, cy - half)), int(min(w, cx + half)), int(min(h, cy + half)))
        out.append(image.crop(box))
    return out


def training_items(folder, count: int | None = None, taxonomy=None, partial: bool = True,
                   lookalikes: bool = False) -> tuple:
    """``(images, labels in the taxonomy, full scene labels, image paths)`` of the usable renders
    among the first ``count`` in ``folder`` (with ``partial``, labels may hold ``None``)."""
    images, labels, scene, paths = [], [], [], []
    for path, lab in load_renders(folder, count):
        mapped = to_taxonomy(lab, taxonomy, partial, lookalikes)
        if mapped is None:
            continue
        with Image.open(path) as im:
            images.append(im.convert("RGB"))
        labels.append(mapped)
        scene.append(lab)
        paths.append(Path(path))
    return images, labels, scene, paths
