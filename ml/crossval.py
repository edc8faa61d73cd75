"""How catalogue training does on a labelled folder: train on 60 % of the pieces, score the rest.

    python -m ml.crossval --data ../shared/data/real-dev --base instance/models/current [--seeds 0,1,2] [--json]

The split is by piece (``ring_1.jpg`` stays with ``ring.jpg``) and byte-identical photos
count once, so no piece is scored that training saw. Each split is trained twice, heads
only and with the top blocks fine-tuned, so the two can be compared on the same photos.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ml.evaluate import read_rows, score

ATTRIBUTES = ("category", "metal")
TRAIN_SHARE = 0.6


def _piece(path: str) -> str:
    p = Path(path)
    return f"{p.parent}/{re.sub(r'_[0-9]+$', '', p.stem)}"


def _labels(row: dict) -> dict:
    return {a: (row.get(a) or "").strip() or None for a in ("category", "metal", "gemstone")}


def _loader(path: str):
    def load():
        with Image.open(path) as im:
            return im.convert("RGB")
    return load


def split(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    pieces = sorted({_piece(r["path"]) for r in rows})
    order = np.random.default_rng(seed).permutation(len(pieces))
    train = {pieces[i] for i in order[:int(TRAIN_SHARE * len(pieces))]}
    return [r for r in rows if _piece(r["path"]) in train], [r for r in rows if _piece(r["path"]) not in train]


def run(data_dir, base_dir, seeds, feature_cache=None, log=None) -> list[dict]:
    from ml.listing import ListingGenerator
    from ml.train_catalog import train_bundle

    quiet = log or (lambda _: None)
    rows, seen = [], set()
    for r in read_rows(data_dir):
        digest = hashlib.sha256(Path(r["path"]).read_bytes()).hexdigest()
        if digest not in seen:
            seen.add(digest)
            rows.append(dict(r, sha=digest))
    base = ListingGenerator.load(base_dir)
    results = []
    for seed in seeds:
        train, test = split(rows, seed)
        images = [_loader(r["path"])() for r in test]
        for finetune in (False, True):
            started = time.time()
            with tempfile.TemporaryDirectory() as tmp:
                model = train_bundle(base, Path(tmp) / "bundle", [_loader(r["path"]) for r in train],
                                     [r["sha"] for r in train], [_labels(r) for r in train], seed=0,
                                     feature_cache=feature_cache, finetune=finetune, log=quiet)
            report = score(model.image_model.predict(images), [_labels(r) for r in test])
            results.append({"seed": seed, "finetune": finetune, "kept": model.meta["metrics"]["finetune"]["kept"],
                            "n_train": len(train), "seconds": round(time.time() - started, 1),
                            **{a: {k: report[a][k] for k in ("accuracy", "macro_f1", "ece", "n")}
                               for a in ATTRIBUTES if a in report}})
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with labels.csv (path,category[,metal,...])")
    parser.add_argument("--base", required=True, help="bundle for untrained heads and the describer")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--feature-cache", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results = run(args.data, args.base, [int(s) for s in args.seeds.split(",")], args.feature_cache,
                  log=lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(results))
        return
    for r in results:
        figures = ", ".join(f"{a} {r[a]['accuracy']:.3f} (F1 {r[a]['macro_f1']:.3f})" for a in ATTRIBUTES if a in r)
        mode = f"fine-tuned ({'kept' if r['kept'] else 'not kept'})" if r["finetune"] else "heads only"
        print(f"seed {r['seed']} {mode:<24} {figures}")


if __name__ == "__main__":
    main()
