"""The worker's side of operations: JSON logs, a heartbeat in Redis, and its own /metrics port.

Connected by workers/make_celery.py, so only `celery worker`/`beat` processes get
these hooks; the web process (which imports workers/celery_app.py to send tasks by
name) does not.
"""
import logging
import os
import threading

from celery import signals
from prometheus_client import multiprocess, start_http_server

from webapp.logging_setup import setup_logging
from webapp.metrics import process_registry
from webapp.ops.queue import clear_heartbeat, redis_client, redis_url_of, write_heartbeat

log = logging.getLogger(__name__)


def _beat_until(stop: threading.Event, url: str, hostname: str, queues: list, interval: float, concurrency) -> None:
    """Write this worker's heartbeat every ``interval`` seconds until ``stop`` is set, then clear it."""
    client = redis_client(url)
    while True:
        try:
            write_heartbeat(client, hostname, queues, interval, pid=os.getpid(), concurrency=concurrency)
        except Exception as exc:  # Redis blips must not kill the worker
            log.warning("heartbeat not written: %s", exc)
        if stop.wait(interval):
            break
    try:
        clear_heartbeat(client, hostname)
    except Exception:
        pass


def connect(flask_app) -> None:
    config = flask_app.config
    heartbeat = {}

    def use_app_logging(loglevel=None, **_):
        # Answering this signal stops Celery from installing its own plain-text handlers.
        setup_logging(loglevel or config["LOG_LEVEL"], config["LOG_FORMAT"])

    def serve_metrics(**_):
        if config["WORKER_METRICS_PORT"]:
            # In the main process; the pool's children write files it reads.
            start_http_server(config["WORKER_METRICS_PORT"], registry=process_registry())
            log.info("worker metrics on port %d", config["WORKER_METRICS_PORT"])

    def start_heartbeat(sender=None, **_):
        url = redis_url_of(config)
        if url is None:
            return
        hostname = sender.hostname
        queues = [q.name for q in sender.app.amqp.queues.consume_from.values()]
        interval = config["WORKER_HEARTBEAT_SECONDS"]
        concurrency = getattr(sender.pool, "limit", None)
        stop = threading.Event()
        thread = threading.Thread(target=_beat_until, args=(stop, url, hostname, queues, interval, concurrency),
                                  name="heartbeat", daemon=True)
        heartbeat.update(stop=stop, thread=thread)
        thread.start()

    def stop_heartbeat(**_):
        if heartbeat:
            heartbeat["stop"].set()
            heartbeat["thread"].join(timeout=5)

    def forget_dead_child(pid=None, **_):
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.mark_process_dead(pid or os.getpid())

    # weak=False: these are closures that would otherwise be garbage-collected at once.
    signals.setup_logging.connect(use_app_logging, weak=False)
    signals.worker_init.connect(serve_metrics, weak=False)
    signals.worker_ready.connect(start_heartbeat, weak=False)
    signals.worker_shutdown.connect(stop_heartbeat, weak=False)
    signals.worker_process_shutdown.connect(forget_dead_child, weak=False)
