"""Compare the describer's decodings (top-p, greedy, beam) on drawn catalogue items.

    python -m ml.describe_report --bundle DIR [--n 64] [--seed 11]

Each decoding describes the same drawings (their true attributes, tones and lengths), so
the rows differ only in how tokens are picked: variety (distinct-2), repeats and
contradictions left after grounding, and decode time per description (after a warm-up).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ml import vocab
from ml.grounding import has_repeated_trigram
from ml.metrics import distinct_2
from ml.text_model import DECODINGS


def report(generator, items) -> dict[str, dict]:
    """Per decoding: distinct-2, mean words, texts with a repeated 3-gram, contradictions, ms per text."""
    emb = generator.image_model.embed([it.image for it in items])
    attrs, tones, lengths = [it.labels for it in items], [it.tone for it in items], [it.length for it in items]
    out = {}
    for decoding in DECODINGS:
        generator.text_model.generate(emb[:2], attrs[:2], tones[:2], lengths[:2], decoding=decoding)  # warm-up
        start = time.perf_counter()
        texts = generator.text_model.generate(emb, attrs, tones, lengths, decoding=decoding)
        ms = (time.perf_counter() - start) * 1000 / len(items)
        out[decoding] = {"distinct_2": round(distinct_2(texts), 3),
                         "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1),
                         "repeated_3gram": sum(has_repeated_trigram(t) for t in texts),
                         "contradictions": sum(len(vocab.contradictions(t, a))
                                               for t, a in zip(texts, attrs, strict=True)),
                         "ms_per_description": round(ms, 1), "example": texts[0]}
    return out


def main(argv=None) -> None:
    from ml.listing import ListingGenerator
    from ml.starter_catalog import generate_catalog

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    generator = ListingGenerator.load(args.bundle)
    size = generator.meta.get("config", {}).get("render_size", 192)
    result = report(generator, generate_catalog(args.n, seed=args.seed, image_size=size))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.n} descriptions, bundle {generator.model_version}")
    print("| decoding | distinct-2 | mean words | repeated 3-gram | contradictions | ms/description |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in result.items():
        print(f"| {name} | {r['distinct_2']} | {r['mean_words']} | {r['repeated_3gram']} | {r['contradictions']} "
              f"| {r['ms_per_description']} |")


if __name__ == "__main__":
    main()
