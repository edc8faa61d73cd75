"""Is the Grad-CAM heatmap worth showing? Scored on rendered starter scenes, whose piece masks are
known, against a centred blob that knows nothing about the photo.

Two scores per photo: the share of the heatmap's mass inside the piece's mask, and the pointing
game (is the heatmap's peak on the piece). The baseline is a centred Gaussian (sigma a quarter of
the side) scored the same way on the same photos; the mask's own area is the share a flat,
uninformative map would get.

    python -m bench.heatmap_quality [--renders DIR] [--n 120] [--bundle DIR] [--json]

--renders reads NNNNNN.jpg and NNNNNN_mask.png written by ml.render.catalog; without it, the
scenes are rendered here (Mitsuba, slower).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from bench.inference import default_bundle
from bench.stats import emit
from ml.gradcam import category_heatmap
from ml.render.catalog import render_item


def centred_blob(side: int) -> np.ndarray:
    y, x = np.mgrid[0:side, 0:side]
    c, sigma = (side - 1) / 2, side / 4
    return np.exp(-((x - c) ** 2 + (y - c) ** 2) / (2 * sigma ** 2)).astype(np.float32)


def scores(heat: np.ndarray, mask: np.ndarray) -> tuple[float, bool]:
    """(share of the map's mass inside the mask, whether its peak is inside), at the mask's size."""
    big = np.asarray(Image.fromarray((heat / max(heat.max(), 1e-9) * 255).astype(np.uint8))
                     .resize(mask.shape[::-1], Image.BILINEAR), np.float32)
    share = float((big * mask).sum() / max(big.sum(), 1e-9))
    peak = np.unravel_index(int(np.argmax(big)), big.shape)
    return share, bool(mask[peak])


def scenes(renders: Path | None, n: int):
    """(photo, mask as the model sees it: padded to a square like the photo) for n scenes."""
    from ml.image_model import to_square  # noqa: PLC0415  (lazy: loads TensorFlow)

    for i in range(n):
        if renders is not None:
            photo = Image.open(renders / f"{i:06d}.jpg").convert("RGB")
            mask = Image.open(renders / f"{i:06d}_mask.png").convert("L")
        else:
            img, m, _ = render_item(i, size=192, spp=16)
            photo, mask = Image.fromarray(np.asarray(img)), Image.fromarray(m.astype(np.uint8) * 255)
        side = max(photo.size)
        square = to_square(mask.convert("RGB"), side)[..., 0] > 127  # padded the same way as the photo
        yield photo, square


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=Path)
    parser.add_argument("--n", type=int, default=120)
    parser.add_argument("--bundle", default=default_bundle())
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

    model = ListingGenerator.load(args.bundle).image_model
    cam_share, cam_hit, blob_share, blob_hit, area = [], [], [], [], []
    for photo, mask in scenes(args.renders, 30 if args.quick else args.n):
        cam, _ = category_heatmap(model, photo)
        s, h = scores(cam, mask)
        cam_share.append(s)
        cam_hit.append(h)
        s, h = scores(centred_blob(64), mask)
        blob_share.append(s)
        blob_hit.append(h)
        area.append(float(mask.mean()))
    n = len(area)
    figures = {
        "heat share inside the piece, Grad-CAM": {"value": round(float(np.mean(cam_share)), 3), "unit": f"(n={n})"},
        "heat share inside the piece, centred blob": {"value": round(float(np.mean(blob_share)), 3),
                                                      "unit": f"(n={n})"},
        "share of the photo the piece covers": {"value": round(float(np.mean(area)), 3), "unit": f"(n={n})"},
        "pointing game, Grad-CAM": {"value": round(float(np.mean(cam_hit)), 3), "unit": f"(n={n})"},
        "pointing game, centred blob": {"value": round(float(np.mean(blob_hit)), 3), "unit": f"(n={n})"},
    }
    emit("heatmap_quality", {"figures": figures, "bundle": args.bundle}, args.json)


if __name__ == "__main__":
    main()
