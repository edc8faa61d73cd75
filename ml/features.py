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


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (the heads' input)."""
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def test_embedding(per_view: np.ndarray) -> np.ndarray:
    """``(n, views, d)`` -> ``(n, d)``: the mean of the unit-length view embeddings, made unit length."""
    return unit(unit(per_view).mean(1))


def cached_views(image_model, images, keys, views, cache_dir=None, log=None) -> np.ndarray:
    """``(n, len(views), d)`` embeddings; ``images`` are PIL images or callables returning one."""
    folder = None
    if cache_dir:
        folder = Path(cache_dir) / f"emb-{image_model.backbone_name}-{image_model.image_size}"
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
