"""The real services for the load benchmarks, started privately and torn down afterwards.

MariaDB (3306) and Redis (6379) are shared with other people: the benchmark gets its own
database, Redis db number, Celery queue and rate-limit prefix, and never stops them. Its
LocalStack, gunicorn and Celery worker come from the one service harness (tests/harness.py),
each in a process group of its own, stopped as a group.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import boto3
import psutil
import redis

from tests.harness import Services, create_database, drop_database, migrate
from webapp import create_app

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


class ResourceSampler:
    """Samples CPU and RSS of a process and its children every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.proc, self.interval = psutil.Process(pid), interval
        self.peak_rss = 0
        self.peak_process_rss = 0  # the largest single process (a web process, the worker's pool process)
        self.cpu_seconds = 0.0
        self._last = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self):
        try:
            return [self.proc] + self.proc.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def _sample(self):
        rss = 0
        for p in self._tree():
            try:
                one = p.memory_info().rss
                rss += one
                self.peak_process_rss = max(self.peak_process_rss, one)
                t = p.cpu_times()
                total = t.user + t.system + t.children_user + t.children_system
                self.cpu_seconds += max(0.0, total - self._last.get(p.pid, total))
                self._last[p.pid] = total
            except psutil.NoSuchProcess:
                pass
        self.peak_rss = max(self.peak_rss, rss)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._sample()  # baseline CPU counters
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()
        self.wall = time.perf_counter() - self.started

    def result(self) -> dict:
        return {"peak_rss_mb": round(self.peak_rss / 2**20, 1),
                "peak_process_rss_mb": round(self.peak_process_rss / 2**20, 1),
                "cpu_cores_used": round(self.cpu_seconds / max(self.wall, 1e-9), 2)}


class Stack:
    """Database, bucket, LocalStack, gunicorn and (optionally) a worker for one benchmark."""

    def __init__(self, bundle: str | None = None, web_env: dict | None = None):
        self.run_id = uuid.uuid4().hex[:8]
        self.dir = Path(tempfile.mkdtemp(prefix=f"jai-bench-{self.run_id}-"))
        self.bundle, self.web_env = bundle, web_env or {}
        self.services = Services(self.dir)
        self.procs = []  # gunicorns and workers, in start order (bench/web.py samples procs[0])
        self.db_name = f"jai_bench_{self.run_id}"
        self.database_made = False
        self.env = {
            "DATABASE_URL": f"mysql+mysqlconnector://root:@127.0.0.1:3306/{self.db_name}?charset=utf8mb4",
            "REDIS_URL": REDIS_DB,
            "S3_BUCKET_NAME": f"jai-bench-{self.run_id}",
            "S3_PREFIX": "media/",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
            "CELERY_QUEUE": f"bench-{self.run_id}",
            "RATELIMIT_ENABLED": "0",
            "RATELIMIT_KEY_PREFIX": f"jai-bench-{self.run_id}",
            "INSTANCE_PATH": str(self.dir / "instance"),
            "SECRET_KEY": "bench-secret",
            "LOG_LEVEL": "WARNING",
            # Grad-CAM overlays are an admin extra, a task of their own: not part of a listing's latency.
            "HEATMAPS_ENABLED": "0",
        }
        if bundle:
            self.env["MODEL_DIR"] = str(bundle)

    # -- services -------------------------------------------------------------
    def start_storage_and_db(self) -> None:
        (self.dir / "instance").mkdir(parents=True, exist_ok=True)
        self.env["S3_ENDPOINT_URL"] = self.services.s3()
        create_database(self.db_name)
        self.database_made = True
        migrate({**os.environ, **self.env})
        boto3.client("s3", endpoint_url=self.env["S3_ENDPOINT_URL"], region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test").create_bucket(
            Bucket=self.env["S3_BUCKET_NAME"])

    def start_gunicorn(self, app: str = "webapp:create_app()", env: dict | None = None) -> str:
        """gunicorn with the project's gunicorn.conf.py on a free port; returns its base URL."""
        url = self.services.gunicorn({**self.env, **self.web_env, **(env or {})}, app=app)
        self.procs.append(self.services.procs[-1])
        return url

    def start_worker(self):
        worker = self.services.worker(self.env, f"bench-{self.run_id}@%h", loglevel="WARNING", ready_timeout=None)
        self.procs.append(worker)
        return worker

    def app(self):
        """A Flask app on the benchmark's database and storage, for seeding and reading rows."""
        return create_app({"RATELIMIT_ENABLED": False}, env=self.env)

    def stop(self) -> None:
        self.services.stop()
        if self.database_made:
            drop_database(self.db_name)
        try:
            redis.Redis.from_url(REDIS_DB).delete(self.env["CELERY_QUEUE"])
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
