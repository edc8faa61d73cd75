"""One shape for every API error: {"error": {"status": 404, "code": "not_found", "message": "..."}}."""
from flask import jsonify
from werkzeug.exceptions import HTTPException

CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
         405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid", 429: "rate_limited", 500: "server_error", 503: "unavailable"}


class ApiError(Exception):
    """Raised by API code; rendered by `error_response`."""

    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or CODES.get(status, "error")


def error_response(status: int, message: str, code: str | None = None):
    response = jsonify(error={"status": status, "code": code or CODES.get(status, "error"),
                              "message": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def from_exception(error):
    """Turn an ApiError or an HTTP error (404, 405 ...) into the JSON shape."""
    if isinstance(error, ApiError):
        return error_response(error.status, error.message, error.code)
    if isinstance(error, HTTPException):
        return error_response(error.code or 500, error.description or error.name)
    return error_response(500, "Something went wrong on our side.")
