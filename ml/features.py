"""Backbone embeddings of photo *views* (the photo, its mirror image, crops), cached on disk.

Training, cross-validation and serving all use the same views, so a recipe measured by
``ml.crossval`` is the recipe that serves. The cache is keyed by the photo's content
fingerprint, the backbone, the input size and the view, so each is computed once.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

TEST_VIEWS = ("plain", "flip")  # averaged at inference (flip test-time augmentation)
TRAIN_VIEWS = ("plain", "flip", "crop", "aug1", "aug2")  # each one a training example

# Optional parts a bundle's features may carry after the 1280-d average-pooled embedding, in
# this order (``image_model.json`` ``extras``; the starter reads ``colour``). The embedding alone is what
# the describer and "more like this" read; the attribute heads read every part.
GEM_P = 3.0  # generalised-mean pooling exponent (Radenovic, Tolias & Chum 2018 use 3)
HUE_BINS, SAT_BINS = 12, 4
BRIGHT_SHARE = 0.05  # the brightest pixels: where a metal's specular highlights are
COLOUR_SIZE = 128  # the colour descriptor reads a thumbnail this size (longer side)
# ``zoom`` is the embedding of a crop round the piece, ``zoom_colour`` that crop's colour descriptor (ml/zoom.py).
EXTRAS = {"gem": 1280, "colour": 2 * HUE_BINS * SAT_BINS, "zoom": 1280, "zoom_colour": 2 * HUE_BINS * SAT_BINS}


def augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Random crop (70-100 % of each side), flip, small rotation and light/colour jitter."""
    img = img.convert("RGB")
    w, h = img.size
    s = rng.uniform(0.7, 1.0)
    cw, ch = int(w * s), int(h * s)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = img.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    img = img.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR, expand=False,
                     fillcolor=tuple(int(c) for c in np.asarray(img.resize((1, 1))).reshape(3)))
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
    return ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.2))


def view(img: Image.Image, name: str, key: str = "") -> Image.Image:
    """One named view of ``img``: ``plain``, ``flip`` (mirror), ``crop`` (central 80 %) or
    ``augN`` (a random crop/flip/rotation/colour jitter, seeded by ``key`` and N)."""
    img = ImageOps.exif_transpose(img).convert("RGB")
    if name == "plain":
        return img
    if name == "flip":
        return ImageOps.mirror(img)
    if name == "crop":
        w, h = img.size
        return img.crop((int(w * 0.1), int(h * 0.1), int(w * 0.9), int(h * 0.9)))
    if name.startswith("aug"):
        seed = int(hashlib.sha256(f"{key}/{name}".encode()).hexdigest()[:8], 16)
        return augment(img, np.random.default_rng(seed))
    raise ValueError(f"unknown view {name!r}")


def gem(maps: np.ndarray, p: float = GEM_P) -> np.ndarray:
    """Generalised-mean pooling of feature maps ``(n, h, w, c)`` -> ``(n, c)``: (mean x^p)^(1/p).

    p = 1 is the average; larger p leans towards the strongest locations, so a small piece on
    a large photo (an earring beside a face) weighs more than in the average."""
    x = np.clip(np.asarray(maps, np.float64), 1e-6, None)
    return np.power(np.power(x, p).mean(axis=(1, 2)), 1.0 / p).astype(np.float32)


def colour_descriptor(img: Image.Image) -> np.ndarray:
    """A ``(2 * HUE_BINS * SAT_BINS,)`` hue-saturation descriptor of a photo, unit length.

    Two square-rooted histograms (Hellinger), each over hue x saturation: of every pixel, and of
    the brightest ``BRIGHT_SHARE`` of pixels, where polished metal shows its colour (gold's
    highlights are yellow, silver's are grey). ImageNet features are trained to ignore colour
    shifts (colour-jitter augmentation), so this part says what they partly discard."""
    small = ImageOps.exif_transpose(img).convert("RGB")
    small.thumbnail((COLOUR_SIZE, COLOUR_SIZE), Image.BILINEAR)
    hsv = np.asarray(small.convert("HSV"), np.int64).reshape(-1, 3)
    bins = (hsv[:, 0] * HUE_BINS // 256) * SAT_BINS + hsv[:, 1] * SAT_BINS // 256
    bright = hsv[:, 2] >= np.quantile(hsv[:, 2], 1.0 - BRIGHT_SHARE)
    parts = []
    for chosen in (np.ones(len(bins), bool), bright):
        h = np.bincount(bins[chosen], minlength=HUE_BINS * SAT_BINS).astype(np.float64)
        parts.append(np.sqrt(h / max(h.sum(), 1.0)))
    return (np.concatenate(parts) / np.sqrt(2.0)).astype(np.float32)


def feature_dims(extras=()) -> tuple[int, ...]:
    """Width of each part of a feature vector: the 1280-d embedding, then each extra in ``EXTRAS`` order."""
    unknown = set(extras) - set(EXTRAS)
    if unknown:
        raise ValueError(f"unknown feature parts {sorted(unknown)}; known: {sorted(EXTRAS)}")
    return (1280, *(EXTRAS[e] for e in EXTRAS if e in extras))


def select_parts(features: np.ndarray, have=(), want=()) -> np.ndarray:
    """The embedding and the ``want`` extras out of features that carry the ``have`` extras."""
    dims, cols, start = feature_dims(have), [], 0
    names = ("embedding", *(e for e in EXTRAS if e in have))
    for name, width in zip(names, dims, strict=True):
        if name == "embedding" or name in want:
            cols.append(np.arange(start, start + width))
        start += width
    if set(want) - set(have):
        raise ValueError(f"features lack {sorted(set(want) - set(have))}")
    return np.asarray(features)[..., np.concatenate(cols)]


def split_parts(features: np.ndarray, have=(), want=()) -> list[np.ndarray]:
    """The ``want`` extras out of features that carry the ``have`` extras, one array each, in ``EXTRAS`` order."""
    return [select_parts(features, have, (name,))[..., 1280:] for name in EXTRAS if name in want]


def head_input(features: np.ndarray, extras=()) -> np.ndarray:
    """What the attribute heads read: each part of ``features`` (``feature_dims(extras)``) scaled
    to unit length, side by side, so every part weighs the same whatever its width. With no
    extras this is the unit-length embedding, as before."""
    x = np.asarray(features, np.float32)
    parts, start = [], 0
    for width in feature_dims(extras):
        parts.append(unit(x[..., start:start + width]))
        start += width
    if start != x.shape[-1]:
        raise ValueError(f"features are {x.shape[-1]} wide, parts {feature_dims(extras)} add up to {start}")
    return np.concatenate(parts, -1) if len(parts) > 1 else parts[0]


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (the heads' input)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def test_embedding(per_view: np.ndarray) -> np.ndarray:
    """``(n, views, d)`` -> ``(n, d)``: the mean of the unit-length view embeddings, made unit length."""
    return unit(unit(per_view).mean(1))


def cached_views(image_model, images, keys, views, cache_dir=None, log=None) -> np.ndarray:
    """``(n, len(views), d)`` features (``image_model.embed``: the embedding and the model's
    extras); ``images`` are PIL images or callables returning one."""
    folder = None
    if cache_dir:
        extras = "".join(f"-{e}" for e in getattr(image_model, "extras", ()))
        folder = Path(cache_dir) / f"emb-{image_model.backbone_name}-{image_model.image_size}{extras}"
        folder.mkdir(parents=True, exist_ok=True)
    out = None
    for i, (img, key) in enumerate(zip(images, keys, strict=False)):
        rows, missing = {}, []
        for v in views:
            path = folder / f"{key}-{v}.npy" if folder and key else None
            if path and path.exists():
                rows[v] = np.load(path)
            else:
                missing.append(v)
        if missing:
            im = img() if callable(img) else img
            emb = image_model.embed([view(im, v, key or str(i)) for v in missing])
            for v, e in zip(missing, emb, strict=False):
                rows[v] = e
                if folder and key:
                    np.save(folder / f"{key}-{v}.npy", e)
        stacked = np.stack([rows[v] for v in views])
        if out is None:
            out = np.zeros((len(images), *stacked.shape), np.float32)
        out[i] = stacked
        if log and (i + 1) % 50 == 0:
            log(f"  embedded {i + 1}/{len(images)} photos ({', '.join(views)})")
    return out if out is not None else np.zeros((0, len(views), 1), np.float32)
