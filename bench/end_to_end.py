"""Parts 3 and 5: upload-confirmed to listing-ready with a real worker and the real services.

Artisans (threads) do what the API client does: create an upload, POST the photo to S3
(LocalStack), confirm, then poll the job every 0.1 s. Latency is from the confirm answer to
the first poll that sees ``ready``, at 1, 8 and 32 artisans at once; throughput is listings
over the span from the first confirm to the last ready. CPU and peak RSS of the gunicorn and
worker process trees are sampled during each load; the worker's cold start is the time from
spawning it (a job already waiting) to that job being ready.

    python -m bench.end_to_end [--quick] [--json] [--bundle DIR] [--heatmaps]

``--heatmaps`` leaves Grad-CAM heatmaps on (they are off by default here): the worker then also
runs a heatmap task per listing, from its own queue, when no listing waits.
"""
from __future__ import annotations

import argparse
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.inference import default_bundle
from bench.stack import ResourceSampler, Stack
from bench.stats import emit, summary, target
from ml.starter_catalog import generate_catalog
from webapp.account.tokens import create_token
from webapp.extensions import db
from webapp.models import Job, User

LEVELS = (1, 8, 32)


def photos(n: int = 12) -> list[bytes]:
    """Drawn jewellery as JPEG files of a phone-photo-like size."""
    out = []
    for item in generate_catalog(n, seed=11, image_size=480):
        buf = io.BytesIO()
        item.image.save(buf, "JPEG", quality=88)
        out.append(buf.getvalue())
    return out


def seed_tokens(stack: Stack, n: int) -> list[str]:
    app = stack.app()
    tokens = []
    with app.app_context():
        for i in range(n):
            user = User(email=f"artisan{i}@bench.example", password_hash="x")
            db.session.add(user)
            db.session.commit()
            tokens.append(create_token(user, "bench")[1])
    return tokens


class Artisan:
    def __init__(self, web: str, token: str):
        self.web = web
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"

    def submit(self, data: bytes) -> tuple[str, float]:
        """Create, upload, confirm; returns (job id, time the confirm answered)."""
        r = self.http.post(f"{self.web}/api/v1/uploads", json={"filename": "piece.jpg", "content_type": "image/jpeg",
                                                              "size": len(data)}, timeout=30)
        r.raise_for_status()
        body = r.json()
        up = body["upload"]
        s3 = requests.post(up["url"], data=up["fields"], files={"file": ("piece.jpg", data, "image/jpeg")}, timeout=30)
        s3.raise_for_status()
        c = self.http.post(body["confirm_url"], timeout=30)
        c.raise_for_status()
        return body["job"]["id"], time.perf_counter()

    def wait(self, job_id: str, timeout: float = 180) -> tuple[str, float]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            state = self.http.get(f"{self.web}/api/v1/jobs/{job_id}", timeout=30).json()["state"]
            if state in ("ready", "failed"):
                return state, time.perf_counter()
            time.sleep(0.1)
        return "timeout", time.perf_counter()

    def run(self, uploads: list[bytes]) -> list[dict]:
        out = []
        for data in uploads:
            job_id, confirmed = self.submit(data)
            state, done = self.wait(job_id)
            out.append({"job_id": job_id, "state": state, "confirmed": confirmed, "done": done,
                        "latency": done - confirmed})
        return out


def load_level(web: str, tokens: list[str], artisans: int, per_artisan: int, images: list[bytes]) -> list[dict]:
    crowd = [Artisan(web, tokens[i]) for i in range(artisans)]
    barrier = threading.Barrier(artisans)

    def go(i):
        barrier.wait()
        return crowd[i].run([images[(i + k) % len(images)] for k in range(per_artisan)])

    with ThreadPoolExecutor(artisans) as pool:
        return [r for rs in pool.map(go, range(artisans)) for r in rs]


def mean_batch(app, job_ids: list[str]) -> float:
    """Jobs per task that ran them: a batched job carries the id of the task that took it."""
    with app.app_context():
        tasks = {db.session.get(Job, j).task_id for j in job_ids}
        db.session.remove()
    return round(len(job_ids) / max(1, len(tasks)), 2)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bundle", default=default_bundle())
    ap.add_argument("--heatmaps", action="store_true", help="heatmap tasks on, as in production")
    args = ap.parse_args(argv)
    per_artisan = {1: 4, 8: 2, 32: 1} if args.quick else {1: 10, 8: 5, 32: 3}
    started = time.perf_counter()
    figures, levels = {}, []
    images = photos()
    with Stack(args.bundle) as stack:
        if args.heatmaps:
            stack.env["HEATMAPS_ENABLED"] = "1"
        stack.start_storage_and_db()
        web = stack.start_gunicorn()
        tokens = seed_tokens(stack, max(LEVELS))
        app = stack.app()
        # Cold start: a job is waiting before the worker process exists.
        first = Artisan(web, tokens[0])
        job_id, _ = first.submit(images[0])
        spawned = time.perf_counter()
        worker = stack.start_worker()
        state, ready = first.wait(job_id, timeout=120)
        cold = ready - spawned
        figures["worker cold start (spawn to first listing), s"] = {
            "value": round(cold, 2), "unit": "s", "what": f"celery worker spawned with one job waiting ({state})",
            "target": {"limit": 10.0, "met": state == "ready" and cold <= 10.0}}
        web_pid = stack.procs[0].pid
        for n in LEVELS:
            with ResourceSampler(web_pid) as web_res, ResourceSampler(worker.pid) as worker_res:
                t0 = time.perf_counter()
                results = load_level(web, tokens, n, per_artisan[n], images)
                wall = time.perf_counter() - t0
            ok = [r for r in results if r["state"] == "ready"]
            batch = mean_batch(app, [r["job_id"] for r in ok])
            lat = [r["latency"] for r in ok]
            span = max(r["done"] for r in results) - min(r["confirmed"] for r in results)
            rate = len(ok) / span if span > 0 else 0.0
            s = summary(lat, "s", f"{n} artisans x {per_artisan[n]} uploads, confirm answered -> poll sees ready")
            levels.append({"artisans": n, "p50_s": s.get("median"), "p95_s": s.get("p95"),
                           "listings_per_s": round(rate, 2), "ready": len(ok), "jobs": len(results),
                           "jobs_per_batch": batch,
                           "web": web_res.result(), "worker": worker_res.result(), "wall_s": round(wall, 1)})
            fig = dict(s)
            if n == 1:
                fig["target"] = target(s.get("median") or 1e9, 1.0)
            figures[f"end to end: {n} artisans, confirm->ready s"] = fig
            figures[f"end to end: {n} artisans, listings/s"] = {
                "value": round(rate, 2), "unit": "listings/s",
                "what": f"{len(ok)}/{len(results)} ready over {span:.1f} s, {batch} jobs per worker batch on average"}
            w, k = web_res.result(), worker_res.result()
            figures[f"resources at {n} artisans: web CPU cores / RSS MB (largest process, all)"] = {
                "value": f"{w['cpu_cores_used']} / {w['peak_process_rss_mb']}, {w['peak_rss_mb']}", "unit": "",
                "what": "gunicorn master + 2 workers x 4 threads", "target": target(w["peak_process_rss_mb"], 150.0)}
            figures[f"resources at {n} artisans: worker CPU cores / RSS MB (largest process, all)"] = {
                "value": f"{k['cpu_cores_used']} / {k['peak_process_rss_mb']}, {k['peak_rss_mb']}", "unit": "",
                "what": "celery main + 1 pool process with both models loaded",
                "target": target(k["peak_process_rss_mb"], 1024.0)}
        top = levels[-1]
        figures["end to end: sustained listings/s at 32 artisans (p95 < 5 s)"] = {
            "value": top["listings_per_s"], "unit": "listings/s", "what": f"p95 {top['p95_s']} s",
            "target": {"limit": 10.0, "met": top["listings_per_s"] >= 10 and (top["p95_s"] or 1e9) < 5}}
    emit("end_to_end", {"figures": figures, "levels": levels, "heatmaps": args.heatmaps,
                        "wall_s": round(time.perf_counter() - started, 1)}, args.json)


if __name__ == "__main__":
    main()
