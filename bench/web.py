"""Part 4: the web tier under gunicorn against a bare Flask "hello" app with the same settings.

Both run with the project's gunicorn.conf.py (2 processes x 4 threads unless WEB_CONCURRENCY /
GUNICORN_THREADS say otherwise). Clients are threads with keep-alive sessions, each sending
requests back to back for a fixed time; the figures are requests per second and the latency
p95, per endpoint: the job status poll (``GET /jobs/<id>``, signed-in artisan) and the public
catalogue page (24 approved listings with signed thumbnail URLs). The hello app is measured
right before, in the same run, and the status poll is reported as a ratio to it.

    python -m bench.web [--quick] [--json]
"""
from __future__ import annotations

import argparse
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench.stack import ResourceSampler, Stack
from bench.stats import emit, summary, target
from webapp.extensions import db
from webapp.models import Job, Photo, Product, User, utcnow

CLIENTS = 8


def hammer(url: str, seconds: float, session_factory, clients: int = CLIENTS) -> dict:
    """Requests back to back from ``clients`` threads for ``seconds``; returns rate and latencies.

    The clients' sessions are made first, at once (for the poll that is 8 concurrent sign-ins,
    whose memory shows in the RSS figure); the clock starts when all of them are ready.
    """
    latencies, errors, lock = [], [0], threading.Lock()
    with ThreadPoolExecutor(clients) as pool:
        sessions = list(pool.map(lambda _: session_factory(), range(clients)))
    stop = time.perf_counter() + seconds

    def client(http):
        mine, bad = [], 0
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                ok = http.get(url, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            mine.append(time.perf_counter() - t0)
            bad += not ok
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(http,)) for http in sessions]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for http in sessions:
        http.close()
    return {"rps": len(latencies) / wall, "latencies_ms": [x * 1000 for x in latencies], "errors": errors[0]}


def seed(stack: Stack) -> tuple[str, str]:
    """An artisan with a password and a finished job, and 30 approved listings; returns (email, job id)."""
    app = stack.app()
    with app.app_context():
        user = User(email="poller@bench.example", email_verified_at=utcnow())  # signs in at once
        user.set_password("bench password 123")
        db.session.add(user)
        db.session.commit()
        job_id = None
        for i in range(30):
            product = Product(owner_id=user.id, status="approved", title=f"Classic Gold Ring {i}",
                              description="A classic gold ring. " * 4, tags=["ring", "gold"], category="ring",
                              metal="gold", attributes={}, reviewed_at=utcnow())
            db.session.add(product)
            db.session.flush()
            photo = Photo(product_id=product.id, object_key=f"media/bench/{i}.photo.jpg", content_type="image/jpeg",
                          thumbnail_key=f"media/bench/{i}.thumb.jpg")
            db.session.add(photo)
            db.session.flush()
            job = Job(product_id=product.id, photo_id=photo.id, state="ready", queued_at=utcnow(),
                      finished_at=utcnow())
            db.session.add(job)
            db.session.flush()
            job_id = job_id or job.id
        db.session.commit()
    return "poller@bench.example", job_id


def signed_in(web: str, email: str):
    def make():
        http = requests.Session()
        html = http.get(f"{web}/login", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or \
            re.search(r'name="csrf-token" content="([^"]+)"', html)
        r = http.post(f"{web}/login", data={"email": email, "password": "bench password 123",
                                            "csrf_token": token.group(1)}, timeout=30, allow_redirects=False)
        assert r.status_code in (302, 303), r.status_code
        return http
    return make


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    seconds, rounds = (4.0, 2) if args.quick else (10.0, 3)
    started = time.perf_counter()
    # The rate limiter on, as in production (Redis), with room for the benchmark's own sign-ins,
    # which all come at once: they wait their turn to hash rather than get a 429.
    with Stack(web_env={"RATELIMIT_ENABLED": "1", "RATELIMIT_LOGIN": "1000 per minute",
                        "RATELIMIT_LOGIN_SITE": "1000 per second", "PASSWORD_HASH_WAIT": "60"}) as stack:
        stack.start_storage_and_db()
        web = stack.start_gunicorn()
        hello = stack.start_gunicorn("bench.hello_app:app")
        email, job_id = seed(stack)
        poll_session = signed_in(web, email)
        rows = {"hello": [], "poll": [], "catalogue": []}
        lat = {"hello": [], "poll": [], "catalogue": []}
        with ResourceSampler(stack.procs[0].pid) as web_res:
            for _ in range(rounds):  # interleaved, so drifts in machine load hit all three alike
                for name, url, factory in (("hello", f"{hello}/", requests.Session),
                                           ("poll", f"{web}/jobs/{job_id}", poll_session),
                                           ("catalogue", f"{web}/catalogue/", requests.Session)):
                    r = hammer(url, seconds, factory)
                    if r["errors"]:
                        raise RuntimeError(f"{name}: {r['errors']} failed requests")
                    rows[name].append(r["rps"])
                    lat[name].extend(r["latencies_ms"])
    ratio = [p / h for p, h in zip(rows["poll"], rows["hello"], strict=True)]
    cat95 = summary(lat["catalogue"], "ms", "")["p95"]
    what = f"{CLIENTS} keep-alive clients, {rounds} rounds of {seconds:.0f} s"
    figures = {
        "web: bare Flask hello, req/s": summary(rows["hello"], "req/s", f"bench/hello_app.py, {what}"),
        "web: status poll GET /jobs/<id>, req/s": summary(rows["poll"], "req/s", f"signed-in artisan, {what}"),
        "web: status poll / hello throughput": {**summary(ratio, "x", "paired rounds"),
                                                "target": target(min(ratio) if ratio else 0, 0.5, True)},
        "web: catalogue page GET /catalogue/, req/s": summary(rows["catalogue"], "req/s", what),
        "web: hello latency, ms": summary(lat["hello"], "ms", "per request, all rounds"),
        "web: status poll latency, ms": summary(lat["poll"], "ms", "per request, all rounds"),
        "web: catalogue latency, ms": {**summary(lat["catalogue"], "ms", "per request, 24 listings a page"),
                                       "target": target(cat95, 50.0)},
        "web: RSS MB (largest process, all) / CPU cores": {
            "value": f"{web_res.result()['peak_process_rss_mb']}, {web_res.result()['peak_rss_mb']} / "
                     f"{web_res.result()['cpu_cores_used']}", "unit": "",
            "what": "the project's gunicorn during all rounds",
            "target": target(web_res.result()["peak_process_rss_mb"], 150.0)},
    }
    emit("web", {"figures": figures, "wall_s": round(time.perf_counter() - started, 1)}, args.json)


if __name__ == "__main__":
    main()
