"""Summaries every benchmark reports: what was measured, how many runs, median and spread."""
from __future__ import annotations

import json
import statistics
import sys
import time


def summary(samples, unit: str, what: str) -> dict:
    """Median, p95 and min/max of ``samples``, with the number of runs and what they measured."""
    xs = sorted(float(x) for x in samples)
    if not xs:
        return {"what": what, "unit": unit, "runs": 0}
    p95 = xs[min(len(xs) - 1, max(0, round(0.95 * len(xs)) - 1))]
    return {"what": what, "unit": unit, "runs": len(xs), "median": statistics.median(xs),
            "p95": p95, "min": xs[0], "max": xs[-1]}


def repeat(fn, runs: int, warmup: int = 1) -> list[float]:
    """Seconds per call of ``fn``, ``runs`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def target(value: float, limit: float, higher_is_better: bool = False) -> dict:
    ok = value >= limit if higher_is_better else value <= limit
    return {"limit": limit, "met": bool(ok)}


def emit(part: str, result: dict, as_json: bool) -> None:
    """Print the part's result: JSON for bench.run, else a short table for a person."""
    if as_json:
        json.dump({"part": part, **result}, sys.stdout)
        sys.stdout.write("\n")
        return
    for name, fig in result.get("figures", {}).items():
        print(format_row(name, fig))


def format_row(name: str, fig: dict) -> str:
    if "median" in fig:
        value = (f"{fig['median']:.4g} {fig['unit']} "
                 f"(p95 {fig['p95']:.4g}, {fig['min']:.4g}–{fig['max']:.4g}, n={fig['runs']})")
    else:
        value = f"{fig.get('value')} {fig.get('unit', '')}".strip()
    t = fig.get("target")
    mark = "" if not t else (" ✔" if t["met"] else f" ✘ (target {t['limit']})")
    return f"{name:<48} {value}{mark}"
