"""Prometheus metrics, defined once for the web and the worker processes.

Importing this module costs only prometheus_client (no TensorFlow, no app).
gunicorn runs several web processes and Celery's prefork pool several worker
processes; with PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py and
workers/make_celery.py make one, see webapp/metrics_dir.py) each process writes
its own file and an exposition adds them up. Numbers that belong to the system
rather than to a process (jobs by state, queue depth, the promoted model) are
read when Prometheus scrapes, so every web process answers the same.
"""
import logging
import os
import time

from flask import g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from webapp.ops import queue, stats

log = logging.getLogger(__name__)

HTTP_REQUEST_SECONDS = Histogram(
    "jai_http_request_duration_seconds", "Time the web app took to answer a request.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
UPLOADS_CREATED = Counter(
    "jai_uploads_created", "Upload forms signed (a draft product, photo and job recorded).")
UPLOADS_CONFIRMED = Counter(
    "jai_uploads_confirmed", "Uploads found in storage and queued for the worker.")
JOBS_REQUEUED = Counter("jai_jobs_requeued", "Failed jobs an admin sent back to the queue.")
JOBS_FINISHED = Counter(
    "jai_jobs_finished", "Job runs the worker finished, by outcome (ready, failed, retry).", ["state"])
INFERENCE_SECONDS = Histogram(
    "jai_model_inference_seconds", "Time the models took to describe one photo.",
    ["model_version"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60))
UPLOAD_TO_READY_SECONDS = Histogram(
    "jai_upload_to_ready_seconds", "Time from an upload being queued to its listing being ready.",
    buckets=(1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800))


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry():
    """The registry holding this process's counters, or all processes' in multi-process mode."""
    if not multiprocess_mode():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


class _Families:
    """A one-off collector for metric families already computed."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return self.families


def system_families(app) -> list:
    """Gauges read at scrape time: jobs by state, queue depth, workers alive, promoted model."""
    families = []

    def attempt(what, build):
        try:
            families.extend(build())
        except Exception as exc:  # one missing source must not hide the others
            log.warning("metrics: could not read %s: %s", what, exc.__class__.__name__)

    def jobs():
        gauge = GaugeMetricFamily("jai_jobs", "Jobs in the database, by state.", labels=["state"])
        counts = stats.job_counts()
        for state in stats.JOB_STATES:
            gauge.add_metric([state], counts.get(state, 0))
        return [gauge]

    def depth():
        name = app.config["CELERY_QUEUE"]
        gauge = GaugeMetricFamily("jai_queue_depth", "Messages waiting in the broker queue.",
                                  labels=["queue"])
        gauge.add_metric([name], queue.queue_depth(app.extensions["celery"], name))
        return [gauge]

    def workers():
        alive = queue.alive_workers(app.config, app.config["CELERY_QUEUE"])
        if alive is None:
            return []
        return [GaugeMetricFamily("jai_workers_alive", "Workers whose heartbeat is fresh.",
                                  value=len(alive))]

    def model():
        meta = stats.promoted_model(app.config)
        if meta is None:
            return []
        info = GaugeMetricFamily("jai_model_promoted_info", "The promoted model version (value 1).",
                                 labels=["version"])
        info.add_metric([meta["version"]], 1)
        scores = GaugeMetricFamily("jai_model_promoted_metric",
                                   "Evaluation numbers recorded with the promoted model.",
                                   labels=["version", "metric"])
        for name, value in meta["metrics"].items():
            scores.add_metric([meta["version"], name], value)
        return [info, scores]

    for what, build in (("jobs", jobs), ("queue", depth), ("workers", workers), ("model", model)):
        attempt(what, build)
    return families


def exposition(app=None) -> tuple[bytes, str]:
    """The text Prometheus scrapes: this process group's metrics, plus system gauges with an app."""
    body = generate_latest(process_registry())
    if app is not None:
        live = CollectorRegistry(auto_describe=False)
        live.register(_Families(system_families(app)))
        body += generate_latest(live)
    return body, CONTENT_TYPE_LATEST


def init_request_metrics(app) -> None:
    """Time every request into the latency histogram, labelled by endpoint and status."""
    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            # Unmatched URLs share one label so scanners cannot blow up the series count.
            HTTP_REQUEST_SECONDS.labels(request.endpoint or "unmatched", request.method,
                                        str(response.status_code)).observe(
                time.perf_counter() - started)
        return response
