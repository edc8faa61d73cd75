"""Rate limits on the requests worth abusing: signing in, registering, starting uploads.

Each limit is declared on its view with `@rate_limit(setting, key)`; `init_limits` binds
the declarations to the app's own Flask-Limiter (one per app: the extension keeps its
storage and its on/off switch on the instance, so one shared object would let the last
app built decide for every app in the process, as the tests build several).

Flask-Limiter counts in Redis when REDIS_URL is set (every web process shares the
counts) and in memory otherwise; production refuses to start with memory-only counts
(webapp/settings.py). If Redis goes away the limits fall back to memory and the page
still answers. Every limit is checked before the view runs, so a refused sign-in costs
no password hash.
"""
import hashlib
import logging

from flask import jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user

from webapp.api.errors import error_response

log = logging.getLogger(__name__)


def by_address() -> str:
    return get_remote_address()


def by_account() -> str:
    """The signed-in artisan or the API token, so one office behind one address is not one bucket."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:24]
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "addr:" + get_remote_address()


def by_email() -> str:
    """The account a sign-in names, known or not (the same bucket either way: no enumeration)."""
    email = str(request.form.get("email", "")).strip().lower()
    return "email:" + hashlib.sha256(email.encode()).hexdigest()[:24]


def whole_site() -> str:
    """One bucket for everyone: a cap on the password hashing the whole site does."""
    return "site"


def failed_sign_in(response) -> bool:
    """A sign-in that did not get in (a success redirects); only those count towards the lockout."""
    return response.status_code != 302


def rate_limit(setting: str, key=by_address, methods=("POST",), deduct_when=None):
    """Declare a limit on a view: `setting` names the config value holding the limit string."""
    def declare(view):
        limits = view.__dict__.setdefault("rate_limits", [])
        limits.append({"setting": setting, "key": key, "methods": list(methods),
                       "deduct_when": deduct_when})
        return view
    return declare


def _breached(limit):
    """JSON callers (the upload script, the API) get JSON; pages get the usual 429 page."""
    if request.path.startswith("/api/"):
        return error_response(429, "Too many requests; please wait a little and try again.")
    if request.is_json or request.accept_mimetypes.best == "application/json":
        response = jsonify(error="Too many requests; please wait a little and try again.")
        response.status_code = 429
        return response
    return None


def init_limits(app) -> None:
    """Bind a limiter and apply the limits declared on the views (after the blueprints)."""
    limiter = Limiter(key_func=by_address, app=app, key_prefix=app.config["RATELIMIT_KEY_PREFIX"])
    app.extensions["rate_limiter"] = limiter  # the extension itself keeps only weak references
    if app.config["RATELIMIT_ENABLED"] and app.config["RATELIMIT_STORAGE_URI"].startswith("memory://"):
        log.warning("rate limits are counted in memory, per process: each web process allows "
                    "the full limit (set REDIS_URL to share the counts)")
    for endpoint, view in list(app.view_functions.items()):
        for declared in getattr(view, "rate_limits", ()):
            setting = declared["setting"]
            view = limiter.limit(lambda setting=setting: app.config[setting], key_func=declared["key"],
                                 methods=declared["methods"], deduct_when=declared["deduct_when"],
                                 on_breach=_breached)(view)
        app.view_functions[endpoint] = view

    if not (app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION")):
        @limiter.request_filter
        def declares_no_limit() -> bool:
            """With no app-wide limits, a view that declares none has nothing to check: the limiter
            skips its lookups (its work per request was about a fifth of a status poll's CPU time)."""
            view = app.view_functions.get(request.endpoint or "")
            return view is not None and not getattr(view, "rate_limits", None)

    @app.errorhandler(RateLimitExceeded)
    def too_many(error):
        # More specific than the app's 429 page, which would replace the JSON made above.
        if error.response is not None:
            return error.response
        return render_template("error.html", code=429, error=error), 429
