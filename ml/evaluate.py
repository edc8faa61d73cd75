"""Measure a listing bundle's attribute accuracy on labelled real photos.

    python -m ml.evaluate --bundle DIR --data ../shared/data/real-dev [--by shot]

``--data`` is a folder with ``labels.csv`` (columns ``path`` plus any attribute names,
empty = unknown) and the photos under it.  Only labels that are known and in the
bundle's taxonomy are scored, so each attribute has its own ``n``. Beside accuracy, each
attribute reports ``coverage`` (the share of photos whose value is shown without
"please check") and ``risk`` (the error rate among those), from the bundle's calibrated
flags (ml/conformal.py).
"""
from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from ml import conformal
from ml.scoring import bleu4, confusion, confusion_png, distinct_2, expected_calibration_error, macro_f1, rouge_l
from ml.taxonomy import DEFAULT
from ml.train_catalog import length_of


def read_rows(data_dir) -> list[dict]:
    """``labels.csv`` rows with ``path`` made absolute."""
    d = Path(data_dir)
    with open(d / "labels.csv", newline="", encoding="utf-8") as f:
        return [dict(r, path=str(d / r["path"])) for r in csv.DictReader(f)]


def _predict(generator, rows: list[dict], batch_size: int = 32) -> tuple[list[dict], list]:
    preds, embs = [], []
    for i in range(0, len(rows), batch_size):
        images = []
        for r in rows[i:i + batch_size]:
            with Image.open(r["path"]) as im:
                images.append(im.convert("RGB"))
        emb = generator.image_model.embed(images)
        embs.extend(emb)
        preds.extend(generator.image_model.predict_features(emb))
    return preds, embs


def evaluate(generator, rows: list[dict], batch_size: int = 32, preds=None) -> dict[str, dict]:
    """Per attribute: ``{"accuracy", "n", "majority_baseline", "coverage", "risk"}`` over rows that label it.

    ``generator`` is a :class:`ml.listing.ListingGenerator` (only its image model is used).
    """
    preds = preds if preds is not None else _predict(generator, rows, batch_size)[0]
    report = score(preds, rows, taxonomy=generator.image_model.taxonomy)
    return {a: {k: r[k] for k in ("accuracy", "n", "majority_baseline", "coverage", "risk", "macro_f1")}
            for a, r in report.items()}


def score(predictions: list[dict], labels: list[dict], threshold: float | None = None,
          taxonomy=None) -> dict[str, dict]:
    """Per attribute, over rows whose label is a known value: accuracy, macro-F1, ECE,
    majority baseline, the confusion matrix, and ``coverage``/``risk`` of the flags the
    predictions carry; with ``threshold``, also the share of predictions below it and the
    accuracy of the rest."""
    if taxonomy is None:  # the values the predictions were made over
        first = predictions[0] if predictions else {}
        taxonomy = DEFAULT.subset(()).extended({a: list(p["scores"]) for a, p in first.items() if "scores" in p}) \
            if first and all("scores" in p for p in first.values()) else DEFAULT
    out = {}
    for a, values in taxonomy.attributes.items():
        # Labels read as the taxonomy reads them ("Rings" is ring), as imports do.
        truths = [taxonomy.normalise(a, lab.get(a)) for lab in labels]
        rows = [(values.index(t), p[a]) for p, t in zip(predictions, truths, strict=True) if t in values and a in p]
        if not rows:
            continue
        truth = [t for t, _ in rows]
        pred = [values.index(p["value"]) for _, p in rows]
        conf = np.array([p["confidence"] for _, p in rows])
        ok = np.array(truth) == np.array(pred)
        m = confusion(truth, pred, len(values))
        out[a] = {"n": len(rows), "accuracy": round(float(ok.mean()), 4), "macro_f1": round(macro_f1(m), 4),
                  "ece": round(expected_calibration_error(conf, ok), 4),
                  "mean_confidence": round(float(conf.mean()), 4),
                  "majority_baseline": round(Counter(truth).most_common(1)[0][1] / len(rows), 4),
                  **conformal.coverage_and_risk([p.get("flagged", True) for _, p in rows], ok),
                  "confusion": {"labels": list(values), "matrix": m.tolist()}}
        if threshold is not None:
            sure = conf >= threshold
            out[a]["needs_confirmation"] = round(float(1 - sure.mean()), 4)
            out[a]["accuracy_when_confident"] = round(float(ok[sure].mean()), 4) if sure.any() else None
    return out


def evaluate_labelled(generator, rows: list[dict], out_dir=None, threshold: float | None = None,
                      batch_size: int = 32) -> dict:
    """Full report on labelled photos: :func:`score` per attribute (confusion PNGs in ``out_dir``)
    and, for rows with a reference ``description``, BLEU-4, ROUGE-L and distinct-2 of the
    generated descriptions (written with the predicted attributes, as a seller would see them)."""
    preds, embs = _predict(generator, rows, batch_size)
    report = {"model_version": generator.model_version, "n": len(rows),
              "attributes": score(preds, rows, threshold, generator.image_model.taxonomy)}
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for a, r in report["attributes"].items():
            path = Path(out_dir) / f"confusion_{a}.png"
            confusion_png(np.array(r["confusion"]["matrix"]), r["confusion"]["labels"], a, path)
            r["confusion_png"] = str(path)
    refs = [i for i, r in enumerate(rows) if (r.get("description") or "").strip()]
    if refs:
        hyps = []
        for i in refs:
            attrs = {a: p["value"] for a, p in preds[i].items()}
            hyps += generator.text_model.generate(np.asarray(embs[i])[None], [attrs],
                                                  length=length_of(rows[i]["description"]))
        gold = [rows[i]["description"] for i in refs]
        report["descriptions"] = {"n": len(refs), "bleu4": round(bleu4(hyps, gold), 4),
                                  "rouge_l": round(rouge_l(hyps, gold), 4),
                                  "distinct_2": round(distinct_2(hyps), 4)}
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="attribute accuracy of a bundle on labelled photos")
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--data", required=True, help="folder holding labels.csv and the photos")
    ap.add_argument("--by", default=None, help="also report per value of this column (e.g. shot)")
    ap.add_argument("--json", action="store_true", help="(the report is always JSON)")
    args = ap.parse_args(argv)
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

    gen = ListingGenerator.load(args.bundle)
    rows = read_rows(args.data)
    preds = _predict(gen, rows)[0]
    report = {"all": evaluate(gen, rows, preds=preds)}
    if args.by:
        for key in sorted({r.get(args.by, "") for r in rows}):
            sel = [i for i, r in enumerate(rows) if r.get(args.by, "") == key]
            report[f"{args.by}={key}"] = evaluate(gen, [rows[i] for i in sel], preds=[preds[i] for i in sel])
    print(json.dumps({"model_version": gen.model_version, "report": report}, indent=2))


if __name__ == "__main__":
    main()
