"""A shipped starter bundle checks itself: a few renders it never trained on, with the
predictions and accuracy recorded when the bundle was made.

    python -m ml.starter_check record --bundle models/starter --renders .cache/renders/check
    python -m ml.starter_check verify --bundle models/starter

The renders travel in the bundle (``check/``, a few KB each), so the check needs neither
the renderer nor any real photo; ``tests/ml/test_ml_shipped_starter.py`` runs ``verify``.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from PIL import Image

from ml import vocab

CHECK_DIR, CHECK_FILE = "check", "check.json"


def _predict(generator, paths) -> list[dict[str, str]]:
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return [{a: r[a]["value"] for a in r} for r in generator.image_model.predict(images)]


def _accuracy(predictions, labels) -> dict[str, float]:
    return {a: round(sum(p.get(a) == lab.get(a) for p, lab in zip(predictions, labels, strict=True)) / len(labels), 4)
            for a in vocab.DESCRIBER_VALUES}


def record(bundle, renders, count: int = 24) -> dict:
    """Copy ``count`` usable renders from ``renders`` into the bundle and record what it predicts for them."""
    from ml.listing import ListingGenerator
    from ml.render.catalog import load_renders
    from ml.render.dataset import to_vocab

    out = Path(bundle) / CHECK_DIR
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = []
    for path, lab in load_renders(renders):
        mapped = to_vocab(lab)
        if mapped is not None:
            shutil.copyfile(path, out / path.name)
            rows.append({"file": path.name, "labels": mapped})
        if len(rows) == count:
            break
    gen = ListingGenerator.load(bundle)
    preds = _predict(gen, [out / r["file"] for r in rows])
    for r, p in zip(rows, preds, strict=True):
        r["predicted"] = p
    report = {"model_version": gen.model_version, "accuracy": _accuracy(preds, [r["labels"] for r in rows]),
              "items": rows}
    (Path(bundle) / CHECK_FILE).write_text(json.dumps(report, indent=1))
    return report


def verify(bundle, cache_dir=None) -> tuple[dict, dict, float]:
    """``(recorded accuracy, measured accuracy, share of predictions that match the record)``."""
    from ml.listing import ListingGenerator

    report = json.loads((Path(bundle) / CHECK_FILE).read_text())
    rows = report["items"]
    gen = ListingGenerator.load(bundle, cache_dir=cache_dir)
    preds = _predict(gen, [Path(bundle) / CHECK_DIR / r["file"] for r in rows])
    same = sum(p[a] == r["predicted"][a] for p, r in zip(preds, rows, strict=True) for a in vocab.DESCRIBER_VALUES)
    measured = _accuracy(preds, [r["labels"] for r in rows])
    return report["accuracy"], measured, same / (len(rows) * len(vocab.DESCRIBER_VALUES))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="record or verify a shipped bundle's self-check")
    ap.add_argument("action", choices=("record", "verify"))
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--renders", help="held-out renders to copy into the bundle (record)")
    ap.add_argument("--count", type=int, default=24)
    args = ap.parse_args(argv)
    if args.action == "record":
        report = record(args.bundle, args.renders, args.count)
        print(json.dumps(report["accuracy"]))
    else:
        recorded, measured, same = verify(args.bundle)
        print(json.dumps({"recorded": recorded, "measured": measured, "same_predictions": round(same, 4)}))
        if recorded != measured:
            raise SystemExit("the bundle no longer reproduces its recorded accuracy")


if __name__ == "__main__":
    main()
