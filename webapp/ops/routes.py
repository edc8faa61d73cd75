"""Probes, /metrics, and the operations page for admins."""
import hmac
import logging
from functools import wraps

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.metrics import exposition
from webapp.models import Job
from webapp.ops import bp, failures, queue, stats
from webapp.ops.readiness import failed_checks, readiness

log = logging.getLogger(__name__)


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapper


def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers. Touches no dependency, so an outage never restarts dynos."""
    return no_store(jsonify(status="ok"))


@bp.get("/readyz")
def readyz():
    """Readiness: 200 when database, Redis and storage answer in time, else 503 naming the failures."""
    app = current_app._get_current_object()
    checks = readiness(app, app.config["READINESS_TIMEOUT"])
    failed = failed_checks(checks)
    body = {"status": "unavailable" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    return no_store(jsonify(body)), 503 if failed else 200


@bp.get("/metrics")
def metrics():
    token = current_app.config["METRICS_TOKEN"]
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return no_store(Response("metrics need a bearer token\n", status=401,
                                 headers={"WWW-Authenticate": "Bearer"}))
    body, content_type = exposition(current_app._get_current_object())
    return no_store(Response(body, content_type=content_type))


def _safely(what, read):
    """The page shows what it can; one unreachable source becomes a note, not a 500."""
    try:
        return read(), None
    except Exception as exc:
        log.warning("ops page: could not read %s: %s", what, exc)
        return None, f"{what} unavailable ({exc.__class__.__name__})"


@bp.get("/admin/ops")
@admin_required
def index():
    config = current_app.config
    queue_name = config["CELERY_QUEUE"]
    depth, depth_error = _safely("queue depth", lambda: queue.queue_depth(
        current_app.extensions["celery"], queue_name))
    workers, workers_error = _safely("heartbeats", lambda: queue.alive_workers(config, queue_name))
    model, model_error = _safely("model metadata", lambda: stats.promoted_model(config))
    return render_template(
        "ops/index.html", queue_name=queue_name, depth=depth, workers=workers,
        counts=stats.job_counts(), hour=stats.last_hour(), model=model,
        failures=failures.recent_failures(), heartbeat_seconds=config["WORKER_HEARTBEAT_SECONDS"],
        errors=[e for e in (depth_error, workers_error, model_error) if e])


@bp.post("/admin/ops/jobs/<job_id>/requeue")
@admin_required
def requeue(job_id):
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    try:
        failures.requeue(job)
    except failures.RequeueRefused as exc:
        flash(str(exc), "error")
    else:
        log.info("admin %s re-queued job %s", current_user.id, job.id)
        flash(f"Job {job.id} is queued again.", "success")
    return redirect(url_for("ops.index"))
