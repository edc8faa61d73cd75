"""The Procfile's formation under honcho, with production settings, serves a listing.

What Heroku would run: the `release` line migrates an empty MariaDB database, then
`web` (gunicorn, 2 processes), `worker` and `beat` start from the Procfile on a Redis
of their own and the suite's S3-compatible server. A browser's path goes through it
as Heroku's router would forward it (X-Forwarded-Proto: https).
"""
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.harness import create_database, drop_database, free_port, procfile, spawn, stop_group, wait_until
from tests.ops_support import scrape, throwaway_redis, value
from tests.support import csrf_from, drawn_ring_jpeg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture
def empty_database():
    """A MariaDB database with no tables, for the release phase to migrate (a mysql:// URL, as JawsDB gives)."""
    name = f"jai_formation_{uuid.uuid4().hex[:8]}"
    create_database(name, host="127.0.0.1")
    yield f"mysql://root:@127.0.0.1:3306/{name}"
    drop_database(name, host="127.0.0.1")


class Router:
    """Talks to the web process the way Heroku's router forwards a browser's HTTPS requests."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.origin = f"https://127.0.0.1:{port}"
        self.http = requests.Session()

    def request(self, method, path, headers=None, **kwargs):
        headers = {"X-Forwarded-Proto": "https", "Referer": self.origin + path, **(headers or {})}
        response = self.http.request(method, self.base + path, headers=headers,
                                     allow_redirects=False, timeout=30, **kwargs)
        for cookie in self.http.cookies:
            cookie.secure = False  # the router ends TLS; this hop is plain HTTP
        return response


def json_lines(log_text, process):
    """The JSON objects a process printed, from honcho's "HH:MM:SS web.1 | ..." lines."""
    events = []
    for line in log_text.splitlines():
        prefix, sep, rest = line.partition(" | ")
        if sep and prefix.split()[-1].startswith(process + ".") and rest.startswith("{"):
            events.append(json.loads(rest))
    return events


def test_procfile_formation_serves_a_listing_with_production_settings(
        service_env, model_dir, empty_database, tmp_path):
    port, worker_metrics = free_port(), free_port()
    with throwaway_redis() as (redis_url, _):
        env = {**os.environ, **service_env,
               "APP_ENV": "production", "SECRET_KEY": uuid.uuid4().hex,
               "DATABASE_URL": empty_database, "REDIS_URL": redis_url,
               "CELERY_QUEUE": "listings", "MODEL_DIR": str(model_dir),
               "INSTANCE_PATH": str(tmp_path / "instance"), "WEB_CONCURRENCY": "2",
               "WORKER_METRICS_PORT": str(worker_metrics), "METRICS_TOKEN": "scrape-token",
               "CELERY_BEAT_SCHEDULE_FILE": str(tmp_path / "beat-schedule"),
               "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
        for name in ("PROMETHEUS_MULTIPROC_DIR", "CELERY_BROKER_URL", "SENTRY_DSN"):
            env.pop(name, None)

        release = subprocess.run(procfile()["release"], shell=True, cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=180)
        assert release.returncode == 0, release.stderr[-3000:]

        (tmp_path / "empty.env").write_text("")
        log_path = tmp_path / "honcho.log"
        honcho = spawn([str(BIN / "honcho"), "-f", "Procfile", "-e", str(tmp_path / "empty.env"),
                        "start", "-p", str(port), "web", "worker", "beat"], env=env, log_path=log_path)
        try:
            _exercise(Router(port), port, worker_metrics, log_path, empty_database)
        finally:
            stop_group(honcho, timeout=60)


def verify_in_database(url, email):
    import mysql.connector

    conn = mysql.connector.connect(host="127.0.0.1", user="root", password="", database=url.rsplit("/", 1)[1])
    try:
        conn.cursor().execute("UPDATE users SET email_verified_at = UTC_TIMESTAMP() WHERE email = %s", (email,))
        conn.commit()
    finally:
        conn.close()


def _exercise(router, port, worker_metrics, log_path, database):
    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, 180, "web answers /healthz", interval=0.5)
    wait_until(lambda: re.search(r"worker\.1 .*ready\.", log_path.read_text()), 180, "worker is ready", interval=0.5)
    wait_until(lambda: "beat: Starting" in log_path.read_text(), 180, "beat has started", interval=0.5)
    ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text

    # Production: plain HTTP is sent to HTTPS; the router's forwarded HTTPS is served.
    plain = requests.get(f"http://127.0.0.1:{port}/register", allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

    token = csrf_from(router.request("GET", "/register").text)
    password = "correct horse battery"
    registered = router.request("POST", "/register", data={
        "email": "formation@example.com", "password": password, "confirm": password,
        "csrf_token": token})
    assert registered.status_code == 200 and "Check your email" in registered.text, registered.text[-2000:]
    # Production with no SMTP_HOST sends no link (and logs none): the address is marked proven
    # in the database, as following the link would; the link itself is tested in test_signup.py.
    verify_in_database(database, "formation@example.com")
    token = csrf_from(router.request("GET", "/login").text)
    signed_in = router.request("POST", "/login", data={
        "email": "formation@example.com", "password": password, "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.text[-2000:]
    token = csrf_from(router.request("GET", "/products/new").text)

    photo = drawn_ring_jpeg()
    created = router.request("POST", "/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "ring.jpg", "content_type": "image/jpeg", "size": len(photo)})
    assert created.status_code == 201, created.text
    body = created.json()
    stored = requests.post(body["upload"]["url"], data=body["upload"]["fields"],
                           files={"file": ("ring.jpg", photo, "image/jpeg")}, timeout=30)
    assert stored.status_code == 204, stored.text
    confirmed = router.request("POST", body["confirm_url"], headers={
        "X-CSRFToken": token, "X-Request-ID": "formation-confirm-1"})
    assert confirmed.status_code == 202, confirmed.text

    polls = 0
    state = {}

    def listing_ready():
        nonlocal polls, state
        polls += 1
        state = router.request("GET", body["status_url"]).json()
        return state["state"] in ("ready", "failed")

    wait_until(listing_ready, 180, "the job finishes", interval=0.5)
    assert state["state"] == "ready", state
    page = router.request("GET", body["product_url"])
    assert page.status_code == 200
    assert state["listing"]["title"] in page.text

    # /metrics adds up both gunicorn processes (multi-process mode).
    assert router.request("GET", "/metrics").status_code == 401
    web = scrape(router.request("GET", "/metrics",
                                headers={"Authorization": "Bearer scrape-token"}).text)
    assert value(web, "jai_uploads_confirmed_total") == 1
    assert value(web, "jai_http_request_duration_seconds_count",
                 endpoint="products.status", method="GET", status="200") == polls
    assert value(web, "jai_jobs", state="ready") == 1
    assert ("jai_queue_depth", frozenset({"queue": "listings"}.items())) in web
    assert value(web, "jai_workers_alive") == 1

    # The worker's own port: its pool process counted the run.
    worker = scrape(requests.get(f"http://127.0.0.1:{worker_metrics}/metrics", timeout=10).text)
    assert value(worker, "jai_jobs_finished_total", state="ready") == 1
    assert value(worker, "jai_upload_to_ready_seconds_count") == 1
    inference = [v for (name, _), v in worker.items() if name == "jai_model_inference_seconds_count"]
    assert inference == [1]

    # Every line each process logged as JSON parses; the ids are on them.
    text = log_path.read_text()
    access = [e for e in json_lines(text, "web") if e.get("event") == "access"]
    confirm_line = next(e for e in access if e["request_id"] == "formation-confirm-1")
    assert confirm_line["status"] == 202 and confirm_line["job_id"] == body["job_id"]
    assert isinstance(confirm_line["user_id"], int) and confirm_line["product_id"]
    done = [e for e in json_lines(text, "worker")
            if e["message"].startswith(f"job {body['job_id']} ready")]
    assert len(done) == 1 and done[0]["task_id"] and done[0]["product_id"]
