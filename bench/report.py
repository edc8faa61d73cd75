"""bench/results/latest.json as a Markdown table (for docs/performance.md).

    python -m bench.report [bench/results/latest.json]
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def cell(fig: dict) -> str:
    if "median" in fig:
        return (f"**{fig['median']:.4g}** {fig['unit']} (p95 {fig['p95']:.4g}; {fig['min']:.4g}–{fig['max']:.4g}; "
                f"n={fig['runs']})")
    return f"**{fig.get('value')}** {fig.get('unit', '')}".rstrip()


def verdict(fig: dict) -> str:
    t = fig.get("target")
    if not t:
        return ""
    return f"met (≤/≥ {t['limit']})" if t["met"] else f"**missed** (target {t['limit']})"


def main(argv=None) -> None:
    path = Path((argv or sys.argv[1:] or [ROOT / "bench/results/latest.json"])[0])
    report = json.loads(path.read_text())
    print(f"Run {report['created_at']}, commit {report['commit']}, quick={report['quick']}, "
          f"{report['machine']['cpus']} CPUs, load average before {report['machine']['load_avg'][0]:.2f}, "
          f"after {report['machine'].get('load_avg_after', [0])[0]:.2f}.\n")
    print("| part | figure | result | measured | target |")
    print("| --- | --- | --- | --- | --- |")
    for part, result in report["parts"].items():
        if result.get("error"):
            print(f"| {part} | — | failed: {result['error'][-120:]!r} | | |")
        for name, fig in result.get("figures", {}).items():
            what = str(fig.get("what", "")).replace("|", "/")
            print(f"| {part} | {name.split(': ', 1)[-1]} | {cell(fig)} | {what} | {verdict(fig)} |")


if __name__ == "__main__":
    main()
