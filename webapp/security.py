"""Security headers on every response, with a content security policy that still lets the
browser send photos straight to object storage and show the presigned thumbnails.

Only first-party scripts and styles run (no inline code in the templates). The storage
origin is worked out from the store itself (a presigned form and URL are made offline),
so AWS, an S3-compatible endpoint and the local folder store all get the right policy.
HSTS is set by webapp/https.py when HTTPS is enforced.
"""
import logging
from urllib.parse import urlsplit

from flask import g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from webapp.storage import get_store

log = logging.getLogger(__name__)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=(), payment=(), usb=()",
}


def storage_origins(store) -> list[str]:
    """Origins the browser talks to for uploads and images; none for the local store ('self')."""
    if store.kind == "local":
        return []
    try:
        urls = [store.presign_upload("csp-probe", "image/jpeg", 1, 60)["url"],
                store.url("csp-probe", 60)]
    except Exception:  # no credentials yet: the bucket's usual names
        log.warning("storage origin not worked out from a presigned URL", exc_info=True)
        endpoint = store.client.meta.endpoint_url
        urls = [endpoint, f"https://{store.bucket}.s3.amazonaws.com"]
    origins = []
    for url in urls:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    return origins


def content_security_policy(origins) -> str:
    storage = " ".join(origins)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": f"'self' data: blob: {storage}",
        "connect-src": f"'self' {storage}",
        "form-action": f"'self' {storage}",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }
    return "; ".join(f"{name} {value.strip()}" for name, value in directives.items())


def private_response() -> bool:
    """A page for one person (signed in, or answered to an API token): no cache may keep it."""
    if request.endpoint == "static":
        return False
    if request.headers.get("Authorization") or g.get("session_account_checked"):
        return True
    try:
        return current_user.is_authenticated
    except SQLAlchemyError:  # the database is down (a 503 page): who it is for is unknown, so private
        return True


def init_security_headers(app) -> None:
    cache = {}

    @app.after_request
    def add_security_headers(response):
        if private_response():
            response.headers["Cache-Control"] = "private, no-store"
        if "csp" not in cache:
            cache["csp"] = content_security_policy(storage_origins(get_store()))
        response.headers.setdefault("Content-Security-Policy", cache["csp"])
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
