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

from ml.render.catalog import load_renders
from ml.render.dataset import to_taxonomy

CHECK_DIR, CHECK_FILE = "check", "check.json"


def _predict(generator, paths) -> list[dict[str, str]]:
    """The value the bundle predicts for each attribute of its taxonomy, and whether it is flagged."""
    images = []
    for p in paths:
        with Image.open(p) as im:
            images.append(im.convert("RGB"))
    return [{a: r[a]["value"] for a in r} | {f"{a}:flagged": bool(r[a]["flagged"]) for a in r}
            for r in generator.image_model.predict(images)]


def _accuracy(predictions, labels) -> dict[str, float]:
    """Per attribute, over the items whose label is known (``None`` is unknown)."""
    out = {}
    for a in labels[0]:
        known = [(p[a], lab[a]) for p, lab in zip(predictions, labels, strict=True) if lab[a] is not None]
        if known:
            out[a] = round(sum(p == t for p, t in known) / len(known), 4)
    return out


def record(bundle, renders, count: int = 24) -> dict:
    """Copy ``count`` usable renders from ``renders`` into the bundle and record what it predicts for them."""
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)
    out = Path(bundle) / CHECK_DIR
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    gen = ListingGenerator.load(bundle)
    rows = []
    for path, lab in load_renders(renders):
        mapped = to_taxonomy(lab, gen.taxonomy, partial=True)
        if mapped is not None:
            shutil.copyfile(path, out / path.name)
            rows.append({"file": path.name, "labels": mapped})
        if len(rows) == count:
            break
    preds = _predict(gen, [out / r["file"] for r in rows])
    for r, p in zip(rows, preds, strict=True):
        r["predicted"] = p
    report = {"model_version": gen.model_version, "accuracy": _accuracy(preds, [r["labels"] for r in rows]),
              "items": rows}
    (Path(bundle) / CHECK_FILE).write_text(json.dumps(report, indent=1))
    return report


def verify(bundle, cache_dir=None) -> tuple[dict, dict, float]:
    """``(recorded accuracy, measured accuracy, share of predictions that match the record)``."""
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

    report = json.loads((Path(bundle) / CHECK_FILE).read_text())
    rows = report["items"]
    gen = ListingGenerator.load(bundle, cache_dir=cache_dir)
    preds = _predict(gen, [Path(bundle) / CHECK_DIR / r["file"] for r in rows])
    keys = sorted(rows[0]["predicted"])  # values and flags
    same = sum(p.get(k) == r["predicted"][k] for p, r in zip(preds, rows, strict=True) for k in keys)
    measured = _accuracy(preds, [r["labels"] for r in rows])
    return report["accuracy"], measured, same / (len(rows) * len(keys))


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
