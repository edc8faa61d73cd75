"""One log line per event on stdout, as JSON, carrying the ids of what the event is about.

Heroku (and any log drain) reads stdout; a JSON line per event lets an operator
filter every line of one request, job or Celery task. The ids come from where
the event happened, so callers never have to pass them:

- request_id: the router's X-Request-ID (Heroku sets one), or a new one; echoed back;
- user_id: the signed-in user, once Flask-Login has loaded and checked the session (each request);
- product_id, job_id: the URL's view arguments, or `bind_log_ids(...)` once known;
- task_id: the Celery task being run.
"""
import logging
import re
import sys
import uuid
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

from celery import current_task
from flask import g, has_app_context, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

ID_FIELDS = ("request_id", "user_id", "product_id", "job_id", "task_id")
REQUEST_ID_HEADER = "X-Request-ID"
# Libraries that log every connection at INFO: their lines would drown the app's.
QUIET_LOGGERS = ("mysql.connector",)
# Heroku's ids are UUIDs; anything odd or long from a client is replaced, not logged.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@-]{1,200}")
# Ids bound outside any app context (rare: code that runs before a task enters it).
# The default is read-only: it is shared by every context that never binds an id.
_bound_outside_app: ContextVar[Mapping] = ContextVar("jai_log_ids", default=MappingProxyType({}))


def bind_log_ids(**ids) -> None:
    """Attach ids (job_id=..., product_id=...) to every later log line of this request or task."""
    ids = {k: v for k, v in ids.items() if v is not None}
    if has_app_context():
        g.log_ids = {**g.get("log_ids", {}), **ids}
    else:
        _bound_outside_app.set({**_bound_outside_app.get(), **ids})


def current_log_ids() -> dict:
    """The ids known where this is called: request, signed-in user, URL, bound ids, Celery task."""
    ids = dict(_bound_outside_app.get())
    if has_request_context():
        ids["request_id"] = g.get("request_id")
        # Set by the user loader (webapp/auth/routes.py) once Flask-Login has checked the session.
        ids["user_id"] = g.get("user_id")
        for name in ("product_id", "job_id"):
            if request.view_args and name in request.view_args:
                ids[name] = request.view_args[name]
    if has_app_context():
        ids.update(g.get("log_ids", {}))
    task_id = _celery_task_id()
    if task_id:
        ids["task_id"] = task_id
    return {k: v for k, v in ids.items() if v is not None}


def _celery_task_id():
    # celery.current_task is a proxy of the running task, false outside one.
    return current_task.request.id if current_task else None


class LogIdsFilter(logging.Filter):
    """Copy the current ids onto each record (ids a caller passed in `extra` win)."""

    def filter(self, record):
        for name, value in current_log_ids().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """Plain lines for people reading a terminal (LOG_FORMAT=text), ids appended."""

    def format(self, record):
        line = super().format(record)
        ids = " ".join(f"{k}={getattr(record, k)}" for k in ID_FIELDS if getattr(record, k, None))
        return f"{line} [{ids}]" if ids else line


def make_formatter(fmt: str = "json") -> logging.Formatter:
    if fmt == "text":
        return TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}", style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def setup_logging(level="INFO", fmt="json", stream=None) -> logging.Handler:
    """Send every logger's records to one stdout handler; calling it again replaces that handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_jai_stdout", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler._jai_stdout = True
    handler.setFormatter(make_formatter(fmt))
    handler.addFilter(LogIdsFilter())
    root.addHandler(handler)
    root.setLevel(level)
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    return handler


def installed_handler() -> logging.Handler | None:
    """The handler `setup_logging` installed (tests point it at a buffer)."""
    return next((h for h in logging.getLogger().handlers if getattr(h, "_jai_stdout", False)), None)


def init_request_ids(app) -> None:
    """Give each request an id (the router's when it sent a sane one) and return it in a header."""

    @app.before_request
    def assign_request_id():
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
            # gunicorn's access line (webapp.gunicorn_logging) reads the ids from here.
            request.environ["jai.log_ids"] = current_log_ids()
        return response
