"""`make loadtest`: 200 clients polling and 20 uploading for 60 s against gunicorn and a real
worker on the real services; passes only with zero 5xx, zero client errors and zero lost jobs.

A benchmark, not a test. Everything it needs it starts itself through the service harness
(tests/harness.py), each process in a group of its own, and tears down after: a scratch
database on the shared MariaDB, its own redis-server and LocalStack on free ports,
gunicorn with the project's gunicorn.conf.py, a Celery worker on the tiny model bundle
unless --model names another, and beat as a process of its own (as the Procfile runs it),
so the reaper runs.

Uploaders do what the browser does (create, POST straight to S3, confirm, poll until
ready) in a loop; pollers reuse an uploader's session, as open tabs would, and poll
its current job every --poll seconds (one request in ten is the product panel). All
clients come from one address, so the registration limit is raised for the run.

    python -m bench.loadtest [--pollers 200] [--uploaders 20] [--seconds 60]
"""
import argparse
import asyncio
import io
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import boto3
import httpx2 as httpx
from PIL import Image, ImageDraw
from sqlalchemy import create_engine, text

from tests.harness import Services, create_database, drop_database, free_port, link_in_log, migrate
from tests.support import tiny_model_bundle

ROOT = Path(__file__).resolve().parent.parent
RESULT_FILE = ROOT / ".cache" / "loadtest-last.json"


class Stack:
    """The services for one run, each private to it, stopped in reverse order."""

    def __init__(self, model_dir: str, web_workers: int, threads: int):
        self.id = uuid.uuid4().hex[:8]
        self.dir = Path(tempfile.mkdtemp(prefix="jai-loadtest-"))
        self.services = Services(self.dir)
        self.logs = self.services.logs
        self.db_name = f"jai_load_{self.id}"
        self.database_made = False
        self.web_port = free_port()
        self.env = {
            "DATABASE_URL": f"mysql+mysqlconnector://root:@127.0.0.1:3306/{self.db_name}?charset=utf8mb4",
            "S3_BUCKET_NAME": f"jai-load-{self.id}", "S3_PREFIX": "media/",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
            "CELERY_QUEUE": f"load-{self.id}", "INSTANCE_PATH": str(self.dir / "instance"),
            "SECRET_KEY": uuid.uuid4().hex, "MODEL_DIR": model_dir, "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": str(web_workers),
            "GUNICORN_THREADS": str(threads), "PROXY_FIX_HOPS": "0",
            "RATELIMIT_REGISTER": "1000 per hour",  # every client comes from 127.0.0.1
            "RATELIMIT_LOGIN_SITE": "1000 per second",  # 20 clients register at once
            "REMAP_SIGTERM": "SIGQUIT",
        }
        self.base = f"http://127.0.0.1:{self.web_port}"

    def start(self):
        create_database(self.db_name)
        self.database_made = True
        migrate({**os.environ, **self.env})
        self.env["REDIS_URL"] = self.services.redis()
        self.env["S3_ENDPOINT_URL"] = self.services.s3()
        boto3.client("s3", endpoint_url=self.env["S3_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test"
                     ).create_bucket(Bucket=self.env["S3_BUCKET_NAME"])
        self.services.worker(self.env, f"load-{self.id}@%h", loglevel="WARNING", ready_timeout=None)
        self.services.beat(self.env)
        self.services.gunicorn(self.env, port=self.web_port, name="web")

    def stop(self):
        self.services.stop()
        if self.database_made:
            drop_database(self.db_name)
        shutil.rmtree(self.dir, ignore_errors=True)


def ring_jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    size = rng.choice((320, 480, 640))
    image = Image.new("RGB", (size, size), tuple(rng.randint(200, 250) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    r = size // 3
    draw.ellipse((size // 2 - r, size // 2 - r, size // 2 + r, size // 2 + r),
                 outline=(rng.randint(150, 230), rng.randint(120, 190), 40), width=size // 14)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Recorder:
    """Latencies and statuses per request kind; errors are exceptions (timeouts, resets).

    A GET sent on a keep-alive connection the server was closing at that moment is sent
    again once, as browsers do; those are counted apart, and only a second failure is an error.
    """

    def __init__(self):
        self.latency = defaultdict(list)
        self.status = defaultdict(Counter)
        self.errors = Counter()
        self.resent = Counter()

    async def call(self, kind, client, method, url, **kw):
        started = time.perf_counter()
        try:
            try:
                response = await client.request(method, url, **kw)
            except httpx.RemoteProtocolError:
                if method != "GET":
                    raise
                self.resent[kind] += 1
                response = await client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.errors[f"{kind}: {type(exc).__name__}"] += 1
            return None
        self.latency[kind].append(time.perf_counter() - started)
        self.status[kind][response.status_code] += 1
        return response


class Session:
    """One artisan: its cookies, CSRF token and the job it is waiting for."""

    def __init__(self, base, n, mail_log):
        self.mail_log = mail_log  # the web process's log: development writes each email there
        self.client = httpx.AsyncClient(base_url=base, timeout=30,
                                        limits=httpx.Limits(max_connections=12))
        self.email = f"load{n}-{uuid.uuid4().hex[:6]}@example.com"
        self.token = None
        self.current = None  # (status_url, panel_url)

    async def register(self, rec: Recorder):
        page = await rec.call("register", self.client, "GET", "/register")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        password = uuid.uuid4().hex
        await rec.call("register", self.client, "POST", "/register", data={
            "email": self.email, "password": password, "confirm": password, "csrf_token": token})
        # Signed in by the link emailed to the address, as a person is.
        link = await asyncio.to_thread(link_in_log, self.mail_log, self.email, "/verify/")
        page = await rec.call("register", self.client, "GET", link)
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        await rec.call("register", self.client, "POST", link, data={"csrf_token": token, "password": password})
        page = await rec.call("page", self.client, "GET", "/products/new")
        self.token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


async def upload_once(session: Session, s3: httpx.AsyncClient, rec: Recorder, seed: int, jobs: dict,
                      poll: float, stop_at: float | None):
    data = ring_jpeg(seed)
    headers = {"X-CSRFToken": session.token}
    created = await rec.call("create upload", session.client, "POST", "/uploads", headers=headers,
                             json={"filename": f"ring-{seed}.jpg", "content_type": "image/jpeg",
                                   "size": len(data)})
    if created is None or created.status_code != 201:
        return
    body = created.json()
    stored = await rec.call("S3 POST", s3, "POST", body["upload"]["url"], data=body["upload"]["fields"],
                            files={"file": (f"ring-{seed}.jpg", data, "image/jpeg")})
    if stored is None or stored.status_code != 204:
        return
    confirmed = await rec.call("confirm", session.client, "POST", body["confirm_url"], headers=headers)
    if confirmed is None or confirmed.status_code != 202:
        return
    jobs[body["job_id"]] = {"confirmed": time.time(), "done": None, "state": "queued"}
    session.current = (body["status_url"], body["product_url"] + "/panel")
    while stop_at is None or time.time() < stop_at + 600:
        await asyncio.sleep(poll)
        status = await rec.call("job status (uploader)", session.client, "GET", body["status_url"])
        if status is not None and status.status_code == 200 and \
                status.json()["state"] in ("ready", "failed"):
            jobs[body["job_id"]].update(done=time.time(), state=status.json()["state"])
            return


async def uploader(session, s3, rec, jobs, until, poll, counter):
    while time.time() < until:
        counter[0] += 1
        await upload_once(session, s3, rec, counter[0], jobs, poll, until)


async def poller(session: Session, rec: Recorder, until: float, poll: float):
    n = 0
    await asyncio.sleep(random.random() * poll)
    while time.time() < until:
        n += 1
        if session.current is None:
            await rec.call("products page", session.client, "GET", "/products")
        elif n % 10 == 0:
            await rec.call("product panel", session.client, "GET", session.current[1])
        else:
            await rec.call("job status", session.client, "GET", session.current[0])
        await asyncio.sleep(poll)


async def drive(base, pollers, uploaders, seconds, poll, mail_log):
    rec, jobs = Recorder(), {}
    sessions = [Session(base, n, mail_log) for n in range(uploaders)]
    s3 = httpx.AsyncClient(timeout=30)
    for session in sessions:
        await session.register(rec)
    # Warm-up: the worker's first job waits for the models to load; not part of the window.
    await upload_once(sessions[0], s3, Recorder(), 0, {}, 1.0, None)
    started = time.time()
    until = started + seconds
    counter = [0]
    tasks = [asyncio.create_task(uploader(s, s3, rec, jobs, until, poll, counter)) for s in sessions]
    tasks += [asyncio.create_task(poller(sessions[i % uploaders], rec, until, poll))
              for i in range(pollers)]
    await asyncio.gather(*tasks)
    drained = time.time()
    for session in sessions:
        await session.client.aclose()
    await s3.aclose()
    return rec, jobs, started, until, drained


def pct(values, q):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def check_database(db_url, job_ids) -> dict:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT id, state FROM jobs")).all())
        listings = Counter(j for (j,) in conn.execute(text("SELECT job_id FROM generated_listings")))
    engine.dispose()
    lost = [j for j in job_ids if states.get(j) not in ("ready", "failed")]
    duplicates = [j for j, n in listings.items() if n > 1]
    return {"accepted": len(job_ids), "ready": sum(states.get(j) == "ready" for j in job_ids),
            "failed": sum(states.get(j) == "failed" for j in job_ids), "lost": len(lost),
            "duplicate_results": len(duplicates), "lost_ids": lost[:10]}


def report(args, rec, jobs, started, until, drained, db) -> dict:
    rows = []
    for kind in sorted(rec.latency):
        lat = rec.latency[kind]
        statuses = rec.status[kind]
        rows.append({"kind": kind, "requests": len(lat),
                     "2xx": sum(n for s, n in statuses.items() if 200 <= s < 300),
                     "3xx": sum(n for s, n in statuses.items() if 300 <= s < 400),
                     "4xx": sum(n for s, n in statuses.items() if 400 <= s < 500),
                     "5xx": sum(n for s, n in statuses.items() if s >= 500),
                     "p50_ms": round(1000 * pct(lat, 0.5)), "p95_ms": round(1000 * pct(lat, 0.95)),
                     "p99_ms": round(1000 * pct(lat, 0.99)), "max_ms": round(1000 * max(lat))})
    turnaround = [j["done"] - j["confirmed"] for j in jobs.values() if j["done"]]
    window = until - started
    in_window = sum(len(v) for k, v in rec.latency.items() if k != "register")
    result = {
        "clients": {"pollers": args.pollers, "uploaders": args.uploaders, "seconds": args.seconds,
                    "poll_interval_s": args.poll, "web_workers": args.web_workers,
                    "threads": args.threads, "worker_concurrency": 1},
        "requests": rows, "client_errors": dict(rec.errors),
        "get_resent_after_keepalive_close": dict(rec.resent),
        "total_requests": in_window, "requests_per_second": round(in_window / window, 1),
        "total_5xx": sum(r["5xx"] for r in rows), "jobs": db,
        "upload_to_ready_s": {"p50": round(statistics.median(turnaround), 1) if turnaround else None,
                              "p95": round(pct(turnaround, 0.95), 1) if turnaround else None,
                              "max": round(max(turnaround), 1) if turnaround else None},
        "drain_after_window_s": round(drained - until, 1),
    }
    print(f"\nLoad: {args.pollers} polling + {args.uploaders} uploading clients for {args.seconds} s "
          f"(gunicorn {args.web_workers}x{args.threads} threads, 1 worker process)")
    print(f"{'request':<24}{'count':>8}{'2xx':>8}{'3xx':>6}{'4xx':>6}{'5xx':>6}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'p99 ms':>8}{'max ms':>8}")
    for r in rows:
        print(f"{r['kind']:<24}{r['requests']:>8}{r['2xx']:>8}{r['3xx']:>6}{r['4xx']:>6}{r['5xx']:>6}"
              f"{r['p50_ms']:>8}{r['p95_ms']:>8}{r['p99_ms']:>8}{r['max_ms']:>8}")
    print(f"requests/s: {result['requests_per_second']}   5xx: {result['total_5xx']}   "
          f"client errors: {sum(rec.errors.values())} {dict(rec.errors) or ''}  "
          f"GETs sent again after a keep-alive close: {sum(rec.resent.values())}")
    print(f"jobs: {db['accepted']} accepted, {db['ready']} ready, {db['failed']} failed, "
          f"{db['lost']} lost, {db['duplicate_results']} with a duplicate result")
    print(f"upload to ready: p50 {result['upload_to_ready_s']['p50']} s, "
          f"p95 {result['upload_to_ready_s']['p95']} s; drained {result['drain_after_window_s']} s "
          "after the window")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pollers", type=int, default=200)
    parser.add_argument("--uploaders", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls per client")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--model", help="model bundle (default: the tiny bundle the tests use)")
    parser.add_argument("--out", type=Path, default=RESULT_FILE, help="where the figures go (JSON)")
    args = parser.parse_args(argv)
    if args.model is None:
        args.model = str(tiny_model_bundle())
    stack = Stack(args.model, args.web_workers, args.threads)
    try:
        stack.start()
        rec, jobs, started, until, drained = asyncio.run(
            drive(stack.base, args.pollers, args.uploaders, args.seconds, args.poll, stack.logs["web"]))
        db = check_database(stack.env["DATABASE_URL"], list(jobs))
        result = report(args, rec, jobs, started, until, drained, db)
    finally:
        logs = {name: path.read_text(errors="replace")[-3000:] for name, path in stack.logs.items()
                if path.exists()}
        stack.stop()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    ok = result["total_5xx"] == 0 and not rec.errors and db["lost"] == 0 \
        and db["duplicate_results"] == 0 and db["accepted"] > 0
    if not ok:
        print("FAILED: 5xx, client errors, lost or duplicated jobs (last worker log lines below)")
        print(logs.get("worker", "")[-1500:])
    print(f"{'PASSED' if ok else 'FAILED'}; figures in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
