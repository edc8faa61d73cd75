"""`make bench`: every part in its own process, one table, bench/results/latest.json and a plot.

    python -m bench.run [--quick] [--bundle DIR] [--parts image,text,end_to_end,embedded_batch,web,footprint]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.inference import default_bundle
from bench.stats import format_row

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARTS = {
    "image": ["bench.inference", "--only", "image"],
    "text": ["bench.inference", "--only", "text"],
    "end_to_end": ["bench.end_to_end"],
    "embedded_batch": ["bench.embedded_batch"],
    "web": ["bench.web"],
    "signin_flood": ["bench.signin_flood"],
    "footprint": ["bench.footprint"],
}


def run_part(name: str, quick: bool, bundle: str) -> dict:
    cmd = [sys.executable, "-m", *PARTS[name], "--json"] + (["--quick"] if quick else [])
    if name in ("image", "text", "end_to_end", "embedded_batch"):
        cmd += ["--bundle", bundle]
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"part": name, "error": (proc.stderr or proc.stdout)[-2000:], "figures": {}}
    result = json.loads(lines[-1])
    result["process_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def plot(levels: list[dict], path: Path) -> None:
    """Latency (p50, p95) and throughput against the number of artisans uploading at once."""
    import matplotlib  # noqa: PLC0415  (lazy: only the plot needs it, and Agg must be chosen before pyplot)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415  (lazy: after matplotlib.use)

    n = [lv["artisans"] for lv in levels]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(n, [lv["p50_s"] for lv in levels], "o-", label="p50 confirm→ready")
    ax.plot(n, [lv["p95_s"] for lv in levels], "s--", label="p95 confirm→ready")
    ax.set_xscale("log", base=2)
    ax.set_xticks(n, [str(x) for x in n])
    ax.set_xlabel("artisans uploading at once")
    ax.set_ylabel("seconds")
    ax2 = ax.twinx()
    ax2.bar(n, [lv["listings_per_s"] for lv in levels], width=[x * 0.25 for x in n], alpha=0.3, color="tab:green",
            label="listings/s")
    ax2.set_ylabel("listings per second")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper left")
    ax.set_title("End to end, one worker, 2 shared CPU cores")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--bundle", default=default_bundle())
    ap.add_argument("--parts", default=",".join(PARTS))
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    report = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), "quick": args.quick,
              "commit": commit.strip(), "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(),
                                                     "python": platform.python_version()},
              "bundle": args.bundle, "parts": {}}
    for name in args.parts.split(","):
        print(f"== {name} ...", flush=True)
        result = run_part(name, args.quick, args.bundle)
        report["parts"][name] = result
        if result.get("error"):
            print(f"   FAILED: {result['error'][-600:]}")
        for fig_name, fig in result.get("figures", {}).items():
            print(format_row(fig_name, fig), flush=True)
    levels = report["parts"].get("end_to_end", {}).get("levels")
    if levels:
        plot(levels, RESULTS / "latency_throughput.png")
        report["plot"] = "bench/results/latency_throughput.png"
    report["machine"]["load_avg_after"] = os.getloadavg()
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
    missed = [f"{p}: {k}" for p, r in report["parts"].items() for k, f in r.get("figures", {}).items()
              if f.get("target") and not f["target"]["met"]]
    print(f"\nwrote bench/results/latest.json; targets missed: {len(missed)}")
    for m in missed:
        print("  -", m)
    if any(r.get("error") for r in report["parts"].values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
