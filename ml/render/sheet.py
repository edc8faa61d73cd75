"""A contact sheet: renders in rows, optionally beside a row of real photos, for the docs.

    python -m ml.render.sheet --renders .cache/renders/v2 --out docs/img/renders.png \
        [--real ../shared/data/real-dev --real-count 8]

Real photos appear only downscaled in this picture (credited in docs/models.md); they are
never copied into the project as data.
"""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from ml.render.catalog import load_renders


def _tile(img: Image.Image, size: int) -> Image.Image:
    return ImageOps.fit(img.convert("RGB"), (size, size), Image.LANCZOS)


def contact_sheet(renders, out, columns: int = 8, rows: int = 4, size: int = 120, real=None,
                  real_count: int = 8) -> Path:
    """Write a PNG of ``rows`` x ``columns`` renders (one of each category in turn) and a row of real photos."""
    items = load_renders(renders)
    picked = items[:columns * rows]
    real_rows = []
    if real:
        with open(Path(real) / "labels.csv", newline="", encoding="utf-8") as f:
            listed = list(csv.DictReader(f))
        step = max(len(listed) // real_count, 1)
        real_rows = [(Path(real) / r["path"], f"real: {r['category']} ({r['shot']})") for r in listed[::step]]
        real_rows = real_rows[:columns]
    n_rows = rows + (1 if real_rows else 0)
    label_h = 14
    sheet = Image.new("RGB", (columns * size, n_rows * (size + label_h)), "white")
    draw = ImageDraw.Draw(sheet)
    cells = [(p, f"{lab['category']} / {lab['metal']}") for p, lab in picked] + real_rows
    for k, (path, caption) in enumerate(cells):
        x, y = (k % columns) * size, (k // columns) * (size + label_h)
        with Image.open(path) as im:
            sheet.paste(_tile(im, size), (x, y))
        draw.text((x + 2, y + size + 1), caption[:24], fill="black")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256).save(out, optimize=True)  # a doc picture: 256 colours keep it small
    return Path(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--renders", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--real", default=None, help="a folder with labels.csv and photos, shown downscaled")
    ap.add_argument("--real-count", type=int, default=8)
    ap.add_argument("--rows", type=int, default=4)
    args = ap.parse_args(argv)
    print(contact_sheet(args.renders, args.out, rows=args.rows, real=args.real, real_count=args.real_count))


if __name__ == "__main__":
    main()
