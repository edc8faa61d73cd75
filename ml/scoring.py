"""Scores for attribute predictions and generated text, in plain numpy (no TensorFlow).

Used by ``flask ml evaluate`` and by the promotion gate, so both compare models the
same way: accuracy, macro-F1, confusion matrix, expected calibration error (ECE),
BLEU-4 and ROUGE-L.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

import numpy as np
from PIL import Image, ImageDraw

_TOKEN = re.compile(r"[a-z0-9']+")


def confusion(truth: list[int], pred: list[int], n: int) -> np.ndarray:
    """``m[i, j]`` = items of true class i predicted as j."""
    m = np.zeros((n, n), np.int64)
    for t, p in zip(truth, pred, strict=True):
        m[t, p] += 1
    return m


def macro_f1(m: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the truth or the predictions."""
    scores = []
    for k in range(len(m)):
        tp, fp, fn = m[k, k], m[:, k].sum() - m[k, k], m[k, :].sum() - m[k, k]
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def expected_calibration_error(confidences, correct, bins: int = 10) -> float:
    """Gap between confidence and accuracy, averaged over equal-width confidence bins."""
    conf, ok = np.asarray(confidences, float), np.asarray(correct, float)
    if not len(conf):
        return 0.0
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in pairwise(edges):
        sel = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(conf[sel].mean() - ok[sel].mean())
    return float(ece)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _ngrams(words, n):
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def bleu4(hypotheses: list[str], references: list[str]) -> float:
    """Corpus BLEU-4 (one reference each, uniform weights, brevity penalty, add-one smoothing for n>1)."""
    log_p, hyp_len, ref_len = 0.0, 0, 0
    for n in range(1, 5):
        match = total = 0
        for h, r in zip(hypotheses, references, strict=True):
            hw, rw = tokens(h), tokens(r)
            hn, rn = _ngrams(hw, n), _ngrams(rw, n)
            match += sum(min(c, rn[g]) for g, c in hn.items())
            total += max(len(hw) - n + 1, 0)
        if n == 1:
            if match == 0:
                return 0.0
        else:
            match, total = match + 1, total + 1
        log_p += math.log(match / total) / 4
    for h, r in zip(hypotheses, references, strict=True):
        hyp_len, ref_len = hyp_len + len(tokens(h)), ref_len + len(tokens(r))
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / max(hyp_len, 1))
    return float(bp * math.exp(log_p))


def rouge_l(hypotheses: list[str], references: list[str]) -> float:
    """Mean ROUGE-L F1 (longest common subsequence of words)."""
    scores = []
    for h, r in zip(hypotheses, references, strict=True):
        hw, rw = tokens(h), tokens(r)
        if not hw or not rw:
            scores.append(0.0)
            continue
        prev = [0] * (len(rw) + 1)
        for a in hw:
            cur = [0]
            for j, b in enumerate(rw):
                cur.append(prev[j] + 1 if a == b else max(prev[j + 1], cur[j]))
            prev = cur
        lcs = prev[-1]
        p, rec = lcs / len(hw), lcs / len(rw)
        scores.append(0.0 if lcs == 0 else 2 * p * rec / (p + rec))
    return float(np.mean(scores)) if scores else 0.0


def distinct_2(texts: list[str]) -> float:
    """Share of word bigrams over a batch that are distinct (1.0 = no bigram repeats)."""
    grams = [g for t in texts for g in _ngrams(tokens(t), 2).elements()]
    return len(set(grams)) / len(grams) if grams else 0.0


def confusion_png(m: np.ndarray, labels: list[str], title: str, path) -> None:
    """Draw the confusion matrix with Pillow (rows: truth, columns: prediction)."""
    cell, left, top = 44, 110, 120
    n = len(labels)
    img = Image.new("RGB", (left + cell * n + 10, top + cell * n + 10), "white")
    d = ImageDraw.Draw(img)
    d.text((10, 8), f"{title} (rows: truth, columns: predicted)", fill="black")
    peak = max(int(m.max()), 1)
    for j, lab in enumerate(labels):
        d.text((left + j * cell + 4, top - 16 - (j % 4) * 14), lab[:12], fill="black")
    for i, lab in enumerate(labels):
        d.text((6, top + i * cell + cell // 2 - 6), lab[:16], fill="black")
        for j in range(n):
            shade = int(255 - 200 * m[i, j] / peak)
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1)
            d.rectangle(box, fill=(shade, shade, 255), outline=(200, 200, 200))
            d.text((box[0] + 6, box[1] + cell // 2 - 6), str(int(m[i, j])),
                   fill="white" if shade < 120 else "black")
    img.save(path)
