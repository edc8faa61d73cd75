"""Render the starter catalogue: one seeded, labelled photo (and piece mask) per index.

    python -m ml.render.catalog --out .cache/renders --count 3000 [--size 192] [--spp 24]

Image ``i`` depends only on ``(seed, i)``, so a batch can stop and resume (files that
exist are kept) or be split across processes (``--start``).  Each index writes
``NNNNNN.jpg`` (the photo, with camera effects and JPEG artefacts), ``NNNNNN_mask.png``
(where the piece is) and ``NNNNNN.json`` (labels and render time), the JSON last so its
presence means the item is complete.
"""
from __future__ import annotations

import argparse
import io
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from ml.render import labels as L
from ml.render import materials as m
from ml.render.geometry import hammer
from ml.render.pieces import build
from ml.render.scenes import compose, shot_for

VARIANT = "scalar_rgb"
BEAD_COLOURS = ((0.8, 0.1, 0.1), (0.1, 0.3, 0.8), (0.1, 0.6, 0.3), (0.9, 0.8, 0.2), (0.9, 0.5, 0.6),
                (0.1, 0.1, 0.1), (0.95, 0.95, 0.92), (0.5, 0.2, 0.6))


def _materials(lab: dict, rng) -> dict:
    oxidised = lab["metal"] in ("silver", "sterling silver", "brass", "copper") and lab["style"] == "vintage" \
        and rng.random() < 0.5
    accent = "diamond" if lab["gemstone"] in ("none", "pearl") or rng.random() < 0.6 else lab["gemstone"]
    stone = lab["gemstone"] if lab["gemstone"] != "none" else "diamond"
    bead = BEAD_COLOURS[rng.integers(len(BEAD_COLOURS))]
    enamel = BEAD_COLOURS[rng.integers(len(BEAD_COLOURS))]
    strap = ((0.25, 0.13, 0.06), (0.05, 0.05, 0.05), (0.45, 0.3, 0.2), (0.1, 0.12, 0.25))[rng.integers(4)]
    dial = ((0.95, 0.95, 0.93), (0.05, 0.05, 0.06), (0.1, 0.15, 0.4), (0.85, 0.75, 0.5))[rng.integers(4)]
    metal = m.metal(lab["metal"], lab["finish"], rng, oxidised)
    return {"metal": metal, "chain": metal,
            "stone": m.stone(stone, rng), "accent": m.stone(accent, rng), "pearl": m.stone("pearl", rng),
            "bead": m.enamel(np.asarray(bead) ** 2.2, rng), "enamel": m.enamel(np.asarray(enamel) ** 2.2, rng),
            "strap": {"type": "roughplastic", "diffuse_reflectance": m.rgb(np.asarray(strap) ** 2.2), "alpha": 0.4},
            "dial": m.diffuse(np.asarray(dial) ** 2.2)}


def _finish(hdr: np.ndarray, rng) -> Image.Image:
    """Camera: exposure, white balance, tone curve, sensor noise, then JPEG artefacts."""
    lum = hdr.mean(2)
    key = np.percentile(lum, rng.uniform(90, 99.5))
    img = hdr / max(key, 1e-4) * rng.uniform(0.75, 1.15)
    img *= rng.uniform(0.92, 1.08, 3)  # white balance
    img = img / (1 + img / rng.uniform(2.5, 8))  # a soft shoulder instead of a hard clip
    img = np.where(img <= 0.0031308, 12.92 * img, 1.055 * np.power(np.clip(img, 0, None), 1 / 2.4) - 0.055)
    img = img + rng.normal(0, rng.uniform(0.002, 0.012), img.shape) * np.sqrt(np.clip(img, 0, 1) + 0.05)
    pil = Image.fromarray((np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8))
    buf = io.BytesIO()
    pil.save(buf, "JPEG", quality=int(rng.integers(55, 96)))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def render_item(index: int, seed: int = 0, size: int = 192, spp: int = 24, category: str | None = None):
    """(photo, mask (H, W) bool, labels) for catalogue item ``index``; deterministic in (seed, index)."""
    import mitsuba as mi

    if mi.variant() != VARIANT:
        mi.set_variant(VARIANT)
    rng = np.random.default_rng([seed, index])
    category = category or L.CATEGORIES[index % len(L.CATEGORIES)]
    lab = L.sample(rng, category)
    piece = build(lab, rng)
    if lab["finish"] == "hammered":
        piece.parts = [(k, hammer(d, rng, 0.012 * _scale(d), 0.12 * _scale(d)) if k == "mesh" and mat == "metal"
                        and len(d[0]) > 200 else d, mat) for k, d, mat in piece.parts]
    if piece.stones == 0:  # the builder set no stone after all (some settings are optional)
        lab["gemstone"] = "none"
    lab["stone_count"] = L.stone_count(piece.stones)
    lab["colour"] = L.colour_of(lab["metal"], lab["gemstone"], piece.multicolour)
    lab["shot"] = shot_for(category, rng)
    scene, mask_scene = compose(piece, lab, lab["shot"], rng, size, spp, _materials(lab, rng))
    hdr = np.asarray(mi.render(mi.load_dict(scene)))[..., :3]
    mask = np.asarray(mi.render(mi.load_dict(mask_scene)))[..., :3].mean(2) > 0.5
    return _finish(np.nan_to_num(hdr), rng), mask, lab


def _scale(mesh) -> float:
    v = mesh[0]
    return float(np.max(v.max(0) - v.min(0)))


def render_batch(out, count: int, start: int = 0, seed: int = 0, size: int = 192, spp: int = 24,
                 threads: int = 1, progress: bool = True) -> int:
    """Render indices ``start .. start+count-1`` into ``out``, skipping complete ones; returns how many rendered."""
    import drjit as dr
    import mitsuba as mi

    mi.set_variant(VARIANT)
    mi.set_log_level(mi.LogLevel.Error)
    dr.set_thread_count(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(start, start + count) if not (out / f"{i:06d}.json").exists()]
    for i in tqdm(todo, desc="rendering", unit="img", disable=not progress):
        t = time.time()
        img, mask, lab = render_item(i, seed, size, spp)
        img.save(out / f"{i:06d}.jpg", quality=95)
        Image.fromarray(mask.astype(np.uint8) * 255).save(out / f"{i:06d}_mask.png")
        meta = {"index": i, "seed": seed, "size": size, "spp": spp, "render_s": round(time.time() - t, 3),
                "labels": lab}
        (out / f"{i:06d}.json").write_text(json.dumps(meta))
    return len(todo)


def load_renders(folder, limit: int | None = None) -> list[tuple[Path, dict]]:
    """``[(photo path, labels), ...]`` of the complete items in ``folder``, by index."""
    items = []
    for meta_path in sorted(Path(folder).glob("[0-9]*.json")):
        meta = json.loads(meta_path.read_text())
        items.append((meta_path.with_suffix(".jpg"), meta["labels"]))
        if limit and len(items) >= limit:
            break
    return items


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="render the starter catalogue (resumable)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--spp", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    n = render_batch(args.out, args.count, args.start, args.seed, args.size, args.spp, args.threads,
                     progress=not args.quiet)
    print(f"rendered {n} new images into {args.out}")


if __name__ == "__main__":
    main()
