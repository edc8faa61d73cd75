"""Look closer: find the piece in a photo and crop around it, for a second backbone pass.

197 of real-dev's 318 photos are worn: the piece (an earring beside a face) is a small part of
the picture, and the average-pooled embedding is mostly face, hair and clothes. The
backbone's last feature map (7×7 at 224 px) says where its features fire. Weighted by the
category head's weights for the value it predicts, it is that head's class activation map
(CAM; Zhou, Khosla, Lapedriza, Oliva & Torralba 2016): where the evidence for "earrings" lies.
Without a trained category head the channel sum of the map stands in, its region taken above
its mean (the class-agnostic saliency of SCDA; Wei, Luo, Wu & Zhou 2017). The box round the
map's peak, with a margin, is cut from the full-resolution photo and embedded as the ``zoom``
feature part (ml/features.py); ``zoom_colour`` is the colour descriptor of that crop, where the
colour is the piece's own. A class-agnostic locator learned from the renders' piece masks
(ml/piece_locator.py) can take the CAM's place.

Every value here was fixed before measuring accuracy on real photos: the threshold is WS-DAN's,
the margin and the smallest crop are round numbers; nothing was tuned to real-dev.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from ml.features import cached_views
from ml.heads import fit_head, predict
from ml.piece_locator import is_piece_locator, piece_map

# The box covers the CAM's region above this share of its peak: the attention-crop threshold of
# WS-DAN (Hu, Qi, Huang & Lu 2019). CAM's own 20 % bounds whole ImageNet objects; on the 7×7 map
# of a worn photo it covered nearly the whole picture (checked on 9 photos, crop sizes only).
THRESHOLD = 0.5
# The channel sum is positive everywhere, so there the region is above its mean (SCDA's rule).
GRID = 56  # the map is upsampled (bilinear) to GRID × GRID before thresholding
MARGIN = 0.25  # the crop's side is the box's longer side × (1 + MARGIN): context round the piece
MIN_SIDE = 0.5  # ... and at least half the photo's longer side: at most 2× closer, so a coarse
# 7×7 peak a cell off the piece still holds it
PARTS = ("zoom", "zoom_colour")  # the feature parts (ml/features.py EXTRAS) that need a located crop


def fit_locator(embedding_views: np.ndarray, y: np.ndarray, n_classes: int) -> dict:
    """The category head that locates the piece: the shipped head (ml/heads.py :func:`fit_head`)
    on the photos' global embedding views ``(n, views, 1280)`` alone."""
    w, b = fit_head(np.asarray(embedding_views, np.float32), np.asarray(y), n_classes)
    return {"w": w.astype(np.float32), "b": b.astype(np.float32)}


def fit_locators(embedding_views: np.ndarray, y: np.ndarray, n_classes: int, folds: np.ndarray
                 ) -> tuple[dict, dict[int, dict]]:
    """The locator fitted on every photo (the one a bundle serves with), and per fold one fitted
    on the other folds. A training photo's crop must be placed by a head that never saw its label,
    as a new photo's is: placed by a head that knows the answer, the crop holds the evidence for
    the right value, and the heads trained and calibrated on such crops are surer than they
    should be on new photos (seen on real-dev: 0.096 risk among unflagged values on one split)."""
    folds = np.asarray(folds)
    per_fold = {int(f): fit_locator(embedding_views[folds != f], y[folds != f], n_classes)
                for f in np.unique(folds) if (folds != f).any()}
    return fit_locator(embedding_views, y, n_classes), per_fold


def located_features(make_model, images, keys, locators: list, views, feature_cache=None, log=None) -> np.ndarray:
    """``(n, len(views), d)`` features (ml/features.py :func:`~ml.features.cached_views`) of zoom
    models, each photo's crop placed by its own entry of ``locators`` (one model per distinct
    locator, ``make_model(locator)``)."""
    out, done = None, set()
    for loc in locators:
        if id(loc) in done:
            continue
        done.add(id(loc))
        idx = [i for i, other in enumerate(locators) if other is loc]
        feats = cached_views(make_model(loc), [images[i] for i in idx], [keys[i] for i in idx], views,
                             feature_cache, log)
        if out is None:
            out = np.zeros((len(images), *feats.shape[1:]), np.float32)
        out[idx] = feats
    return out if out is not None else np.zeros((0, len(views), 1), np.float32)


def activation_map(maps: np.ndarray, locator: dict | None = None) -> np.ndarray:
    """``(n, h, w)`` maps of where the piece is, from feature maps ``(n, h, w, c)``: the CAM of the
    locator's predicted value, the piece probability of a piece locator (ml/piece_locator.py), or
    (no locator) the channel sum."""
    maps = np.asarray(maps, np.float32)
    if locator is None:
        return maps.sum(-1)
    if is_piece_locator(locator):
        return piece_map(maps, locator)
    k = predict(locator["w"], locator["b"], maps.mean((1, 2))).argmax(1)
    return np.einsum("nhwc,cn->nhw", maps, locator["w"][:, k])


def peak_box(cam: np.ndarray, threshold: float = THRESHOLD, grid: int = GRID) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` as shares of the map's width and height: the bounding box of the
    connected region above ``threshold`` × the peak that holds the peak; the whole map when
    nothing is positive."""
    cam = np.asarray(cam, np.float32)
    up = np.asarray(Image.fromarray(cam, mode="F").resize((grid, grid), Image.BILINEAR))
    peak = float(up.max())
    if not np.isfinite(peak) or peak <= 0:
        return 0.0, 0.0, 1.0, 1.0
    mask = up >= threshold * peak
    region = np.zeros_like(mask)
    region[np.unravel_index(int(up.argmax()), up.shape)] = True
    while True:  # grow from the peak through 4-connected cells of the mask
        grown = region.copy()
        grown[1:] |= region[:-1]
        grown[:-1] |= region[1:]
        grown[:, 1:] |= region[:, :-1]
        grown[:, :-1] |= region[:, 1:]
        grown &= mask
        if (grown == region).all():
            break
        region = grown
    rows, cols = np.flatnonzero(region.any(1)), np.flatnonzero(region.any(0))
    return cols[0] / grid, rows[0] / grid, (cols[-1] + 1) / grid, (rows[-1] + 1) / grid


def crop_box(box, width: int, height: int, margin: float = MARGIN, min_side: float = MIN_SIDE
             ) -> tuple[int, int, int, int]:
    """The pixel box to cut from a ``width`` × ``height`` photo for a ``box`` found on its padded
    square (ml/image_model.py :func:`to_square` centres the photo in a square of its longer side):
    square where the photo allows, centred on the box, enlarged by ``margin``, kept inside."""
    side_px = max(width, height)
    x0, y0, x1, y1 = (v * side_px for v in box)
    x0, x1 = x0 - (side_px - width) / 2, x1 - (side_px - width) / 2  # from the square to the photo
    y0, y1 = y0 - (side_px - height) / 2, y1 - (side_px - height) / 2
    side = max(max(x1 - x0, y1 - y0) * (1 + margin), min_side * side_px)
    out = []
    for lo, hi, extent in ((x0, x1, width), (y0, y1, height)):
        length = min(side, extent)
        start = min(max((lo + hi) / 2 - length / 2, 0.0), extent - length)
        out.append((int(round(start)), int(round(start + length))))
    (left, right), (top, bottom) = out
    return left, top, max(right, left + 1), max(bottom, top + 1)


def zoom_crops(images, maps: np.ndarray, locator: dict | None = None) -> list[Image.Image]:
    """The crop around the piece of each photo, cut at full resolution; ``maps`` are the
    backbone's feature maps of the photos' padded squares, in the same order."""
    crops = []
    for img, cam in zip(images, activation_map(maps, locator), strict=True):
        img = ImageOps.exif_transpose(img).convert("RGB")
        share = THRESHOLD if locator is not None else float(cam.mean() / max(cam.max(), 1e-12))
        crops.append(img.crop(crop_box(peak_box(cam, share), *img.size)))
    return crops
