"""Helpers for the operations tests: settings for a server-less app, a throwaway Redis, metrics."""
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.harness import ThrowawayRedis


@contextmanager
def throwaway_redis():
    """A private redis-server on a free port (never the shared one on 6379), killed at the end."""
    with tempfile.TemporaryDirectory() as folder, ThrowawayRedis(Path(folder)) as redis:
        yield redis.url, redis.proc


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
