"""Part 6: `make run`'s embedded default (SQLite, the local folder store, the folder broker) with
a 12-photo batch: confirm to ready for each photo, with heatmaps on (the worst case; off by default).

The same batch runs twice in one go, with the folder broker polling at kombu's default (1 s,
the baseline) and at FOLDER_BROKER_POLL_SECONDS (the setting's default), each on a fresh
instance folder and worker, so the two figures come from the same machine at the same time.

    python -m bench.embedded_batch [--json] [--bundle DIR] [--photos 12]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.end_to_end import photos
from bench.inference import default_bundle
from bench.stats import emit, summary, target
from tests.harness import stop_group
from tests.support import register, start_worker, upload_photo
from webapp import create_app
from webapp.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
NO_SERVERS = {"DATABASE_URL": "", "DB_HOST": "", "REDIS_URL": "", "S3_BUCKET_NAME": "", "CELERY_BROKER_URL": "",
              "SECRET_KEY": "bench-embedded", "CELERY_QUEUE": "listings", "RATELIMIT_ENABLED": "0",
              "HEATMAPS_ENABLED": "1"}
P95_TARGET_S = 3.0
BROWSER_PARALLEL, BROWSER_SPACING_S = 3, 0.4  # static/js/upload.js sends 3 at once


def batch_latencies(bundle: str, poll: float, n: int) -> list[float]:
    """Seconds from each photo's confirm to its listing being ready, n photos sent at once."""
    instance = Path(tempfile.mkdtemp(prefix="bench-embedded-"))
    env = {**NO_SERVERS, "INSTANCE_PATH": str(instance), "MODEL_DIR": bundle,
           "FOLDER_BROKER_POLL_SECONDS": str(poll)}
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp:create_app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)

    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False}, env=env)
    worker = start_worker(env, timeout=300)
    try:
        client = app.test_client()
        token = register(client)
        # Warm: the first listing after a start is not what this measures (bench.end_to_end does).
        _wait(client, [_send(client, token, photos(1)[0])])
        # As the upload page does: three files at a time, each confirmed when its POST to
        # storage is done, so confirms arrive spread over a second or two, not all at once.
        uploads = [upload_photo(client, token, data)[0] for data in photos(n)]
        started = {}
        for i, body in enumerate(uploads):
            if i and i % BROWSER_PARALLEL == 0:
                time.sleep(BROWSER_SPACING_S)
            client.post(body["confirm_url"], headers={"X-CSRFToken": token})
            started[body["status_url"]] = time.perf_counter()
        return _wait(client, list(started), started)
    finally:
        stop_group(worker)
        shutil.rmtree(instance, ignore_errors=True)


def _send(client, token, data) -> str:
    body = upload_photo(client, token, data)[0]
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    return body["status_url"]


def _wait(client, urls, started=None, timeout=180) -> list[float]:
    done, deadline = {}, time.perf_counter() + timeout
    while len(done) < len(urls) and time.perf_counter() < deadline:
        for url in urls:
            if url not in done and client.get(url).get_json()["state"] in ("ready", "failed"):
                done[url] = time.perf_counter()
        time.sleep(0.05)
    if len(done) < len(urls):
        raise RuntimeError(f"{len(urls) - len(done)} photos not ready in {timeout}s")
    return [done[u] - (started or {}).get(u, done[u]) for u in urls]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="accepted for bench.run; the batch is small already")
    parser.add_argument("--bundle", default=default_bundle())
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()

    tuned = load_settings({})["FOLDER_BROKER_POLL_SECONDS"]
    # One stack after the other, on the same machine within a minute of each other.
    baseline = batch_latencies(args.bundle, 1.0, args.photos)
    after = batch_latencies(args.bundle, tuned, args.photos)
    fig_base = summary(baseline, "s", f"{args.photos}-photo batch, confirm→ready, folder broker polling 1 s")
    fig = summary(after, "s", f"{args.photos}-photo batch, confirm→ready, polling {tuned} s")
    fig["target"] = target(fig["p95"], P95_TARGET_S)
    emit("embedded_batch", {"figures": {"embedded batch (kombu default 1 s poll)": fig_base,
                                        f"embedded batch ({tuned} s poll)": fig}}, args.json)


if __name__ == "__main__":
    main()
