"""Part 6: the install footprint, as Heroku would count it (its slug is a gzip'd tar, 500 MB at most).

Every distribution named in requirements.txt and requirements-nodeps.txt (the set
`bin/post_compile` completes on Heroku) is looked up in the running environment; its files
are gzip-compressed one by one (level 6, like tar.gz) and the sizes added up, plus a 512-byte
tar header per file. tensorflow-cpu is also reported on its own, and what the full
`tensorflow` wheel would add is stated from its published size. Results are cached by the
exact installed versions, so a second run takes a second.

    python -m bench.footprint [--quick] [--json]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata as md
import json
import re
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.stats import emit, target

ROOT = Path(__file__).resolve().parent.parent
FILES = ("requirements.txt", "requirements-nodeps.txt")
RENDER_FILES = ("requirements-render.txt",)  # the starter's renderer: training only, never on a dyno
SLUG_LIMIT_MB = 500.0
# Deleted by bin/post_compile after the install: not needed to run (C++ headers for custom ops).
TRIMMED = (("tensorflow", "include"),)


def requirement_names(files=FILES) -> list[str]:
    names = []
    for name in files:
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                names.append(re.split(r"[=<>!~\[; ]", line, maxsplit=1)[0])
    return names


def _compressed(paths: list[str]) -> tuple[int, int]:
    raw = packed = 0
    for p in paths:
        try:
            data = Path(p).read_bytes()
        except OSError:
            continue
        raw += len(data)
        packed += len(zlib.compress(data, 6)) + 512
    return raw, packed


def trimmed(path: str) -> bool:
    parts = Path(path).parts
    return any(parts[i:i + len(t)] == t for t in TRIMMED for i in range(len(parts)))


def measure(names: list[str]) -> dict:
    per_dist, jobs = {}, {}
    for name in names:
        dist = md.distribution(name)
        files = [str(dist.locate_file(f)) for f in (dist.files or [])]
        jobs[f"{dist.metadata['Name']}=={dist.version}"] = files
        cut = [f for f in files if trimmed(str(Path(f).relative_to(dist.locate_file(""))))]
        if cut:
            jobs[f"{dist.metadata['Name']}=={dist.version} (trimmed by bin/post_compile)"] = cut
    with ProcessPoolExecutor(2) as pool:
        for key, (raw, packed) in zip(jobs, pool.map(_compressed, jobs.values()), strict=True):
            per_dist[key] = {"raw_mb": round(raw / 2**20, 1), "compressed_mb": round(packed / 2**20, 1)}
    return per_dist


def cached_measure(names: list[str]) -> dict:
    key = hashlib.sha256(json.dumps(sorted(f"{n}=={md.version(n)}" for n in names)).encode()).hexdigest()[:16]
    cache = Path.home() / ".cache" / "jewellery-ai" / f"footprint-{key}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    per_dist = measure(names)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(per_dist))
    return per_dist


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="accepted for symmetry; the cache makes reruns quick")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    per_dist = cached_measure(requirement_names())
    renderer = cached_measure(requirement_names(RENDER_FILES))
    cut = {k: v for k, v in per_dist.items() if k.endswith("(trimmed by bin/post_compile)")}
    per_dist = {k: v for k, v in per_dist.items() if k not in cut}
    total = sum(d["compressed_mb"] for d in per_dist.values())
    raw = sum(d["raw_mb"] for d in per_dist.values())
    slug = total - sum(d["compressed_mb"] for d in cut.values())
    tf_cpu = next(v for k, v in per_dist.items() if k.lower().startswith("tensorflow"))
    nodeps = {k: v for k, v in per_dist.items() if k.split("==")[0].lower().replace("_", "-")
              in ("keras-hub", "keras-nlp", "tensorflow-text")}
    biggest = sorted(per_dist.items(), key=lambda kv: -kv[1]["compressed_mb"])[:6]
    figures = {
        "footprint: requirements as pip installs them, compressed MB": {
            "value": round(total, 1), "unit": "MB",
            "what": f"{len(per_dist)} distributions, {raw:.0f} MB on disk, gzip -6 per file + tar headers"},
        "footprint: slug packages after bin/post_compile, compressed MB": {
            "value": round(slug, 1), "unit": "MB",
            "what": "the same less " + ", ".join(
                f"{k.split('==')[0]} {'/'.join(TRIMMED[0][1:])} {v['compressed_mb']} MB" for k, v in cut.items()),
            "target": target(slug, SLUG_LIMIT_MB)},
        "footprint: tensorflow-cpu alone, compressed MB": {"value": tf_cpu["compressed_mb"], "unit": "MB",
                                                           "what": f"{tf_cpu['raw_mb']} MB on disk"},
        "footprint: keras-hub + keras-nlp + tensorflow-text (--no-deps), MB": {
            "value": round(sum(v["compressed_mb"] for v in nodeps.values()), 1), "unit": "MB",
            "what": ", ".join(f"{k} {v['compressed_mb']}" for k, v in nodeps.items())},
        "footprint: renderer left out of the slug (requirements-render.txt), compressed MB": {
            "value": round(sum(v["compressed_mb"] for v in renderer.values()), 1), "unit": "MB",
            "what": "training only: " + ", ".join(f"{k} {v['compressed_mb']}" for k, v in renderer.items())},
        "footprint: largest distributions, MB": {
            "value": ", ".join(f"{k.split('==')[0]} {v['compressed_mb']}" for k, v in biggest), "unit": "",
            "what": "compressed"},
    }
    emit("footprint", {"figures": figures, "distributions": per_dist, "trimmed": cut,
                       "wall_s": round(time.perf_counter() - started, 1)}, args.json)


if __name__ == "__main__":
    main()
