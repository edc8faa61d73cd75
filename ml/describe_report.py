"""How well the describer writes: variety, broken fills, contradictions, and against a baseline.

    python -m ml.describe_report --bundle DIR [--data DIR] [--n 100] [--seed 11] [--json]

``--data`` is a labelled folder as ``flask catalog import-folder`` reads it (``labels.csv``
with ``path,category[,metal,gemstone,...,description,tone]``); without it, ``n`` drawn
starter items. Every listing is written the way the worker writes it: the known labels
are given as a person's values, the model fills the rest, tones and lengths take turns.

- ``distinct_2``: share of distinct word bigrams over all descriptions;
- ``max_frame_share``: the largest share of listings that use one sentence frame (a
  sentence with attribute values, piece names, adjectives and numbers masked);
- ``broken_fills``: descriptions breaking a rule of :mod:`ml.text_checks` other than a
  contradiction; ``contradictions``: claims against the values they were written from.

With descriptions in the folder, items whose path hashes into the held-out fifth
(:func:`held_out`) are described, and ``bleu4``, ``rouge_l`` and ``cider`` (pycocoevalcap's
scorers) are given for the describer and for ``retrieval_baseline``: the description of
the nearest other catalogue item by image embedding, measured in the same run. Train the
describer on the other four fifths (``--train-split`` of ``ml.train_catalog``'s callers).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from ml import vocab
from ml.description_templates import ADJ, CATEGORY_NOUN, CATEGORY_TYPES, GEM_PLURAL, VERB
from ml.listing import ListingGenerator
from ml.listing_text import writing_values
from ml.scoring import distinct_2, tokens
from ml.starter_catalog import generate_catalog
from ml.taxonomy import DEFAULT
from ml.text_checks import GEMS, METAL_WORDS, contradictions, problems, split_sentences
from ml.text_model import DECODINGS
from ml.train_catalog import length_of

HELD_OUT_SHARE = 5  # one item in five
COMBOS = [(t, n) for t in vocab.TONES for n in vocab.LENGTHS]


def held_out(path: str) -> bool:
    """Whether a catalogue item is kept out of training for this report (stable, by its path)."""
    return zlib.crc32(path.encode()) % HELD_OUT_SHARE == 0


def _mask_terms() -> list[str]:
    terms = set(METAL_WORDS) | set(GEMS) | set(GEM_PLURAL.values()) | {g + "s" for g in GEMS}
    terms |= {v for values in DEFAULT.attributes.values() for v in values}
    terms |= {"polished", "matte", "hammered", "minimal", "classic", "vintage", "statement", "bohemian",
              "gold-tone", "silver-tone", "rose-tone", "copper-tone", "multicolour", "piece"}
    terms |= {n for n, _ in CATEGORY_NOUN.values()} | set(CATEGORY_NOUN)
    for types in CATEGORY_TYPES.values():
        for kind, entry in types.items():
            terms |= {kind, entry["noun"]}
    terms |= {w for words in ADJ.values() for w in words} | {w for words in VERB.values() for w in words}
    return sorted(terms, key=len, reverse=True)


_MASK = re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(t) for t in _mask_terms()) + r"|\d+(?:[.,]\d+)?)(?![\w-])")


def frame(sentence: str) -> str:
    """The sentence with values, piece names, adjectives and numbers masked: its frame."""
    return re.sub(r"\s+", " ", _MASK.sub("_", sentence.lower())).strip()


def max_frame_share(texts: list[str]) -> tuple[float, str]:
    """Largest share of texts that use one frame, and that frame."""
    counts = Counter(f for t in texts for f in {frame(s) for s in split_sentences(t)})
    if not counts:
        return 0.0, ""
    top, k = counts.most_common(1)[0]
    return k / len(texts), top


def text_figures(texts: list[str], values: list[dict], facts: list[dict]) -> dict:
    """The checks that need no reference text."""
    broken = contradicted = 0
    for t, v, f in zip(texts, values, facts, strict=True):
        found = problems(t, v, f)
        broken += any(not p.startswith("contradiction") for p in found)
        contradicted += len(contradictions(t, v, f))
    share, top = max_frame_share(texts)
    return {"n": len(texts), "distinct_2": round(distinct_2(texts), 3), "max_frame_share": round(share, 3),
            "top_frame": top, "broken_fills": broken, "contradictions": contradicted,
            "mean_words": round(float(np.mean([len(t.split()) for t in texts])), 1) if texts else 0.0}


def reference_scores(hypotheses: list[str], references: list[str]) -> dict:
    """Corpus BLEU-4, ROUGE-L and CIDEr-D from pycocoevalcap (lower-cased word tokens)."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    res = {i: [" ".join(tokens(h)) or "_"] for i, h in enumerate(hypotheses)}
    gts = {i: [" ".join(tokens(r))] for i, r in enumerate(references)}
    return {"bleu4": round(float(Bleu(4).compute_score(gts, res, verbose=0)[0][3]), 4),
            "rouge_l": round(float(Rouge().compute_score(gts, res)[0]), 4),
            "cider": round(float(Cider().compute_score(gts, res)[0]), 4)}


def read_folder(folder) -> list[dict]:
    """Rows of ``labels.csv``: image path, known labels (empty = unknown), description, tone."""
    root = Path(folder)
    with open(root / "labels.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        labels = {a: row[a].strip() for a in DEFAULT.names if (row.get(a) or "").strip()}
        out.append({"path": row["path"], "file": root / row["path"], "labels": labels,
                    "description": (row.get("description") or "").strip(), "tone": row.get("tone")})
    return out


def _write(generator, images, labels, tones, lengths, seed, decoding="top_p"):
    given = [{a: {"value": v, "source": "reviewer"} for a, v in lab.items()} for lab in labels]
    listings = []
    for b in range(0, len(images), 32):
        listings += generator.generate(images[b:b + 32], tone=tones[b:b + 32], length=lengths[b:b + 32],
                                       seed=[seed + b + i for i in range(len(images[b:b + 32]))],
                                       given=given[b:b + 32], decoding=decoding)
    return listings


def report(generator, rows: list[dict], seed: int = 11, decoding: str = "top_p") -> dict:
    """Figures for ``rows`` (dicts with ``image``, ``labels``, optional ``description``/``path``)."""
    with_text = [r for r in rows if r.get("description")]
    if with_text:
        test = [r for r in with_text if held_out(r["path"])]
        index = [r for r in with_text if not held_out(r["path"])]
        tones = [r.get("tone") if r.get("tone") in vocab.TONES else "elegant" for r in test]
        lengths = [length_of(r["description"]) for r in test]
    else:
        test, index = rows, []
        tones, lengths = [COMBOS[i % len(COMBOS)][0] for i in range(len(rows))], \
            [COMBOS[i % len(COMBOS)][1] for i in range(len(rows))]
    listings = _write(generator, [r["image"] for r in test], [r["labels"] for r in test], tones, lengths, seed,
                      decoding)
    texts = [x["description"] for x in listings]
    values = [writing_values(x["attributes"]) for x in listings]
    out = {"describer": text_figures(texts, values, [{}] * len(texts)),
           "examples": [{"labels": r["labels"], "tone": t, "length": n, "title": x["title"],
                         "description": x["description"], "tags": x["tags"]}
                        for r, t, n, x in list(zip(test, tones, lengths, listings, strict=True))[:6]]}
    if with_text and index and test:
        refs = [r["description"] for r in test]
        out["describer"].update(reference_scores(texts, refs))
        emb_test = generator.image_model.embed([r["image"] for r in test])
        emb_index = generator.image_model.embed([r["image"] for r in index])
        a = emb_test / np.linalg.norm(emb_test, axis=1, keepdims=True)
        b = emb_index / np.linalg.norm(emb_index, axis=1, keepdims=True)
        nearest = np.argmax(a @ b.T, axis=1)
        retrieved = [index[int(j)]["description"] for j in nearest]
        baseline = text_figures(retrieved, values, [{}] * len(retrieved))
        baseline.update(reference_scores(retrieved, refs))
        out["retrieval_baseline"] = baseline
        out["held_out"], out["index"] = len(test), len(index)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--data", help="labelled folder (labels.csv); default: drawn starter items")
    ap.add_argument("--n", type=int, default=100, help="listings without --data; at most this many with it")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--decoding", default="top_p", choices=DECODINGS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    generator = ListingGenerator.load(args.bundle)
    if args.data:
        rows = read_folder(args.data)
        if not any(r["description"] for r in rows):  # no reference texts: a spread of n photos
            rows = [rows[i] for i in np.random.default_rng(args.seed).permutation(len(rows))[: args.n]]
        for r in rows:
            r["image"] = Image.open(r["file"]).convert("RGB")
    else:
        size = generator.meta.get("config", {}).get("render_size", 192)
        rows = [{"image": it.image, "labels": it.labels}
                for it in generate_catalog(args.n, seed=args.seed, image_size=size)]
    result = {"bundle": generator.model_version, "decoding": args.decoding,
              **report(generator, rows, args.seed, args.decoding)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"bundle {result['bundle']}")
    keys = ("n", "distinct_2", "max_frame_share", "broken_fills", "contradictions", "bleu4", "rouge_l", "cider")
    print("| | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name in ("describer", "retrieval_baseline"):
        if name in result:
            print(f"| {name} | " + " | ".join(str(result[name].get(k, "")) for k in keys) + " |")


if __name__ == "__main__":
    main()
