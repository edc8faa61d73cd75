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
        for r, pred in zip(chunk, generator.image_model.predict(images), strict=True):
            for a in vocab.ATTRIBUTE_NAMES:
                truth = (r.get(a) or "").strip()
                if truth in vocab.ATTRIBUTES[a]:
                    totals[a] += 1
                    seen[a][truth] += 1
                    hits[a] += pred[a]["value"] == truth
    return {a: {"accuracy": round(hits[a] / totals[a], 3), "n": totals[a],
                "majority_baseline": round(seen[a].most_common(1)[0][1] / totals[a], 3)}
            for a in vocab.ATTRIBUTE_NAMES if totals[a]}


def score(predictions: list[dict], labels: list[dict], threshold: float | None = None) -> dict[str, dict]:
    """Per attribute, over rows whose label is a known value: accuracy, macro-F1, ECE,
    majority baseline and the confusion matrix; with ``threshold``, also the share of
    predictions below it (sent to a person to confirm) and the accuracy of the rest."""
    import numpy as np

    from ml.scoring import confusion, expected_calibration_error, macro_f1

    out = {}
    for a, values in vocab.ATTRIBUTES.items():
        rows = [(vocab.index_of(a, lab[a]), p[a]) for p, lab in zip(predictions, labels, strict=True)
                if (lab.get(a) or "") in values]
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
    from ml.scoring import bleu4, confusion_png, distinct_2, rouge_l
    from ml.train_catalog import length_of

    preds, embs = [], []
    for i in range(0, len(rows), batch_size):
        images = []
        for r in rows[i:i + batch_size]:
            with Image.open(r["path"]) as im:
                images.append(im.convert("RGB"))
        emb = generator.image_model.embed(images)
        embs.extend(emb)
        preds.extend(generator.image_model.predict_features(emb))
    report = {"model_version": generator.model_version, "n": len(rows),
              "attributes": score(preds, rows, threshold)}
    if out_dir:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for a, r in report["attributes"].items():
            path = Path(out_dir) / f"confusion_{a}.png"
            import numpy as np
            confusion_png(np.array(r["confusion"]["matrix"]), r["confusion"]["labels"], a, path)
            r["confusion_png"] = str(path)
    refs = [i for i, r in enumerate(rows) if (r.get("description") or "").strip()]
    if refs:
        import numpy as np
        hyps = []
        for i in refs:
            attrs = {a: preds[i][a]["value"] for a in vocab.ATTRIBUTE_NAMES}
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
