"""Where the piece is, whatever it is: a per-cell "this is jewellery" classifier learned from renders.

The category head's CAM (ml/zoom.py) points at whatever it reads as evidence, and on a worn
photo that is often the hand or the face, not the piece. The rendered starter catalogue
(ml/render/catalog.py) carries an exact mask of the piece in every render, so a locator that
knows no category can be learned there: each cell of the backbone's 7×7 feature map (224 px)
is an example, labelled "mostly piece" where more than half its 32×32 pixels are in the mask,
and a logistic regression (the shipped head's fit, ml/heads.py :func:`fit_head`, two classes, balanced) on the
cell's 1280 channels says how likely a cell of a photo is piece. Its probability map replaces
the CAM in ml/zoom.py's box rule. The locator is stored as a one-column head ``{"w": (1280, 1),
"b": (1,)}`` (a category head has a column per value), 1281 floats.

    python -m ml.piece_locator --renders DIR --out piece_locator.npz [--every 4]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ml.features import unit
from ml.heads import SCALE, fit_head

IMAGE_SIZE = 224  # the recipe's size: a 7×7 map
PIECE_SHARE = 0.5  # a cell is "piece" when more than this share of its pixels are in the mask


def mask_cells(mask: Image.Image, cells: int = 7) -> np.ndarray:
    """``(cells, cells)`` bool: which cells of a render's square frame are mostly piece."""
    m = np.asarray(mask.convert("L").resize((cells * 32, cells * 32), Image.BILINEAR), np.float32) / 255
    return m.reshape(cells, 32, cells, 32).mean((1, 3)) > PIECE_SHARE


def fit(maps: np.ndarray, targets: np.ndarray) -> dict:
    """The locator from feature maps ``(n, h, w, c)`` and their cells' labels ``(n, h, w)``."""
    x = np.asarray(maps, np.float32).reshape(-1, maps.shape[-1])
    y = np.asarray(targets, bool).reshape(-1).astype(int)
    w, b = fit_head(x[:, None], y, 2)
    return {"w": (w[:, 1:] - w[:, :1]).astype(np.float32), "b": (b[1:] - b[:1]).astype(np.float32)}


def is_piece_locator(locator: dict | None) -> bool:
    """Whether ``locator`` is this module's (one column) rather than a category head."""
    return locator is not None and np.asarray(locator["w"]).shape[1] == 1


def piece_map(maps: np.ndarray, locator: dict) -> np.ndarray:
    """``(n, h, w)`` probability that each cell of feature maps ``(n, h, w, c)`` is piece."""
    maps = np.asarray(maps, np.float32)
    logits = (unit(maps.reshape(-1, maps.shape[-1])) * SCALE @ locator["w"] + locator["b"]).reshape(maps.shape[:3])
    return 1.0 / (1.0 + np.exp(-logits))


def render_maps(renders: Path, every: int = 4, log=None) -> tuple[np.ndarray, np.ndarray]:
    """Feature maps and cell labels of every ``every``-th render (``NNNNNN.jpg`` + ``_mask.png``)."""
    from ml.image_model import to_square  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tflite_backbone import TFLiteBackbone, ensure_tflite_backbone  # noqa: PLC0415

    backbone = TFLiteBackbone(ensure_tflite_backbone(IMAGE_SIZE, output="map"), IMAGE_SIZE)
    photos = sorted(p for p in Path(renders).glob("[0-9]*.jpg"))[::every]
    maps, targets = [], []
    for k in range(0, len(photos), 32):
        chunk = photos[k:k + 32]
        maps.append(backbone(np.stack([to_square(Image.open(p), IMAGE_SIZE) for p in chunk])))
        targets.extend(mask_cells(Image.open(p.with_name(f"{p.stem}_mask.png"))) for p in chunk)
        if log:
            log(f"  {k + len(chunk)}/{len(photos)} renders")
    return np.concatenate(maps), np.stack(targets)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", required=True, help="folder of renders with _mask.png beside each")
    parser.add_argument("--out", required=True, help="the locator's .npz (w, b)")
    parser.add_argument("--every", type=int, default=4, help="use every n-th render")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    maps, targets = render_maps(Path(args.renders), args.every, lambda m: print(m, file=sys.stderr))
    embedded = time.perf_counter()
    locator = fit(maps, targets)
    np.savez(args.out, **locator)
    probs = piece_map(maps, locator) > 0.5
    print(f"{len(maps)} renders, {targets.mean():.3f} of cells piece; embedded in {embedded - start:.0f} s, "
          f"fitted in {time.perf_counter() - embedded:.0f} s; on these renders: cells called piece that are "
          f"{(targets & probs).sum() / max(probs.sum(), 1):.3f} piece, piece cells found "
          f"{(targets & probs).sum() / max(targets.sum(), 1):.3f}")


if __name__ == "__main__":
    main()
