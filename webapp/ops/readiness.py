"""Readiness: can this process reach the database, Redis and object storage right now?

The checks run side by side in a small thread pool and each gets READINESS_TIMEOUT
seconds, so a hung dependency makes /readyz answer 503 quickly instead of hanging
the probe. A check that is still stuck keeps its thread until its own client times out.
"""
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import text

from webapp.extensions import db
from webapp.ops.queue import redis_client, redis_url_of

log = logging.getLogger(__name__)
_pool = ThreadPoolExecutor(max_workers=6, thread_name_prefix="readyz")


def check_database(app, timeout):
    with app.app_context(), db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_redis(app, timeout):
    url = redis_url_of(app.config)
    if url is None:
        return "skipped"  # the folder broker of a server-less run
    client = redis_client(url, timeout)
    try:
        client.ping()
    finally:
        client.close()


def check_storage(app, timeout):
    app.extensions["object_store"].check()


CHECKS = {"database": check_database, "redis": check_redis, "storage": check_storage}


def readiness(app, timeout: float) -> dict:
    """{"database": "ok" | "skipped" | "timeout" | "error: <Class>", ...} for each dependency."""
    futures = {name: _pool.submit(check, app, timeout) for name, check in CHECKS.items()}
    deadline = time.monotonic() + timeout
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic())) or "ok"
        except FutureTimeout:
            results[name] = "timeout"
            log.warning("readiness: %s did not answer within %.1fs", name, timeout)
        except Exception as exc:
            # Only the class name goes out: messages can carry host names.
            results[name] = f"error: {exc.__class__.__name__}"
            log.warning("readiness: %s failed: %s", name, exc)
    return results


def failed_checks(results: dict) -> list[str]:
    return [name for name, status in results.items() if status not in ("ok", "skipped")]
