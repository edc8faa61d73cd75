"""A clear "try again shortly" when the database or object storage cannot be reached.

Pages get a small 503 page that needs neither the database nor the signed-in user
(the normal layout asks for both); JSON callers get {"error": ...}; the API keeps
its own error shape. Retry-After tells clients when to come back. Nothing about the
failure beyond its kind reaches the response; the log keeps the details.
"""
import logging

from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app, jsonify, make_response, request
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from webapp.api.errors import error_response
from webapp.extensions import db

log = logging.getLogger(__name__)

DATABASE_DOWN = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
STORAGE_DOWN = (BotoCoreError, ClientError)
RETRY_AFTER_SECONDS = 30
MESSAGES = {
    "database": "The service is briefly unavailable (database). Nothing you sent was lost; "
                "please try again in a minute.",
    "storage": "Photo storage is briefly unavailable. Nothing you sent was lost; "
               "please try again in a minute.",
}


def _unavailable(what: str, error: Exception):
    # The driver's own message only: SQLAlchemy's text would add the statement and its values.
    detail = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
    log.warning("503: %s unavailable: %s: %s", what, type(error).__name__, detail)
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is removed at teardown
        pass
    message = MESSAGES[what]
    if request.path.startswith("/api/"):
        response = error_response(503, message)
    elif request.is_json or request.accept_mimetypes.best == "application/json" \
            or request.headers.get("X-CSRFToken"):
        response = jsonify(error=message)
        response.status_code = 503
    else:
        # Straight from Jinja: render_template's context processors would look up the
        # signed-in user, in the database that just failed.
        page = current_app.jinja_env.get_template("unavailable.html").render(
            message=message, path=request.path)
        response = make_response(page, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def init_outage_pages(app) -> None:
    for error in DATABASE_DOWN:
        app.register_error_handler(error, lambda e: _unavailable("database", e))
    for error in STORAGE_DOWN:
        app.register_error_handler(error, lambda e: _unavailable("storage", e))
