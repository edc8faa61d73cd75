"""The broker's side of operations: jobs waiting in the queue and the workers' heartbeats.

Each worker writes a heartbeat key to Redis every WORKER_HEARTBEAT_SECONDS with a
time-to-live of three intervals (workers/monitoring.py), so a key that exists
means a worker that was alive moments ago, and a dyno that died simply drops out.
"""
import json
import time

import redis
from kombu.exceptions import ChannelError

HEARTBEAT_PREFIX = "jai:worker-heartbeat:"


def redis_url_of(config) -> str | None:
    """The Redis the app uses (REDIS_URL, or a redis:// broker), or None without one."""
    if config.get("REDIS_URL"):
        return config["REDIS_URL"]
    broker = config.get("CELERY_BROKER_URL") or ""
    return broker if broker.startswith("redis") else None


def redis_client(url: str, timeout: float = 2.0) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def queue_depth(celery_app, queue: str) -> int:
    """Messages waiting in the broker queue (Redis or the folder broker alike)."""
    with celery_app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1)
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # never declared, or emptied and removed: nothing waits
            return 0


def write_heartbeat(client: redis.Redis, hostname: str, queues, interval: int, **info) -> None:
    payload = {"hostname": hostname, "queues": sorted(queues), "at": time.time(), **info}
    client.set(HEARTBEAT_PREFIX + hostname, json.dumps(payload), ex=max(3 * interval, 5))


def clear_heartbeat(client: redis.Redis, hostname: str) -> None:
    client.delete(HEARTBEAT_PREFIX + hostname)


def alive_workers(config, queue: str) -> list[dict] | None:
    """Workers consuming `queue` whose heartbeat is fresh; None when there is no Redis to ask."""
    url = redis_url_of(config)
    if url is None:
        return None
    client = redis_client(url)
    try:
        workers = []
        for key in client.scan_iter(match=HEARTBEAT_PREFIX + "*", count=200):
            raw = client.get(key)
            if not raw:
                continue
            info = json.loads(raw)
            if queue in info.get("queues", ()):
                info["age_seconds"] = max(0.0, time.time() - info.get("at", 0))
                workers.append(info)
        return sorted(workers, key=lambda w: w["hostname"])
    finally:
        client.close()
