"""Measure a listing bundle's attribute accuracy on labelled real photos.

    python -m ml.evaluate --bundle DIR --data ../shared/data/real-dev [--by shot]

``--data`` is a folder with ``labels.csv`` (columns ``path`` plus any attribute names,
empty = unknown) and the photos under it.  Only labels that are known and in the
vocabulary are scored, so each attribute has its own ``n``.
"""
from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

from PIL import Image

from ml import vocab


def read_rows(data_dir) -> list[dict]:
    """``labels.csv`` rows with ``path`` made absolute."""
    d = Path(data_dir)
    with open(d / "labels.csv", newline="", encoding="utf-8") as f:
        return [dict(r, path=str(d / r["path"])) for r in csv.DictReader(f)]


def evaluate(generator, rows: list[dict], batch_size: int = 32) -> dict[str, dict]:
    """Per attribute: ``{"accuracy", "n", "majority_baseline"}`` over rows that label it.

    ``generator`` is a :class:`ml.listing.ListingGenerator` (only its image model is used).
    """
    hits, totals, seen = Counter(), Counter(), {a: Counter() for a in vocab.ATTRIBUTE_NAMES}
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        images = []
        for r in chunk:
            with Image.open(r["path"]) as im:
                images.append(im.convert("RGB"))
        for r, pred in zip(chunk, generator.image_model.predict(images)):
            for a in vocab.ATTRIBUTE_NAMES:
                truth = (r.get(a) or "").strip()
                if truth in vocab.ATTRIBUTES[a]:
                    totals[a] += 1
                    seen[a][truth] += 1
                    hits[a] += pred[a]["value"] == truth
    return {a: {"accuracy": round(hits[a] / totals[a], 3), "n": totals[a],
                "majority_baseline": round(seen[a].most_common(1)[0][1] / totals[a], 3)}
            for a in vocab.ATTRIBUTE_NAMES if totals[a]}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="attribute accuracy of a bundle on labelled photos")
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--data", required=True, help="folder holding labels.csv and the photos")
    ap.add_argument("--by", default=None, help="also report per value of this column (e.g. shot)")
    args = ap.parse_args(argv)
    from ml.listing import ListingGenerator

    gen = ListingGenerator.load(args.bundle)
    rows = read_rows(args.data)
    report = {"all": evaluate(gen, rows)}
    if args.by:
        for key in sorted({r.get(args.by, "") for r in rows}):
            report[f"{args.by}={key}"] = evaluate(gen, [r for r in rows if r.get(args.by, "") == key])
    print(json.dumps({"model_version": gen.model_version, "report": report}, indent=2))


if __name__ == "__main__":
    main()
