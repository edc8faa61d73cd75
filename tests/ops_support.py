"""Helpers for the operations tests: a second app with its own settings, a throwaway Redis, metrics."""
import os
import socket
import subprocess
import time
from contextlib import contextmanager

from prometheus_client.parser import text_string_to_metric_families


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


@contextmanager
def throwaway_redis():
    """A private redis-server on a free port (never the shared one on 6379), killed at the end."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


@contextmanager
def extra_app(env: dict, config: dict | None = None):
    """Build another app from `env`; afterwards the session app's Celery is the default again.

    create_app makes its Celery app the process default, and shared tasks are sent
    through the default: without restoring it, later tests would send to this app's broker.
    """
    from celery import _state

    from webapp import create_app

    saved_default, saved_current = _state.default_app, _state._tls.current_app
    saved_env = dict(os.environ)
    os.environ.update(env)
    try:
        app = create_app({"TESTING": True, **(config or {})})
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
    try:
        yield app
    finally:
        _state.set_default_app(saved_default)
        _state._set_current_app(saved_current)


def embedded_config(tmp_path, **overrides) -> dict:
    """Settings for an app that needs no server (SQLite in memory, in-memory broker)."""
    return {"SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path),
            "CELERY_BROKER_URL": "memory://", "REDIS_URL": "", "S3_BUCKET_NAME": "", **overrides}


def scrape(text: str) -> dict:
    """{(sample name, frozenset(labels)): value} from Prometheus text, parsed by prometheus_client."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for_heartbeat(app, patience: float = 40) -> int:
    """How many workers on the app's queue have a fresh heartbeat, waiting out a gap.

    Other test sessions flush the shared Redis test db when they start; a worker
    writes its heartbeat again within WORKER_HEARTBEAT_SECONDS (15 s).
    """
    from webapp.ops.queue import alive_workers

    deadline = time.time() + patience
    while True:
        alive = alive_workers(app.config, app.config["CELERY_QUEUE"]) or []
        if alive or time.time() > deadline:
            return len(alive)
        time.sleep(1)
