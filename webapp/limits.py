"""Rate limits on the requests worth abusing: signing in, registering, starting uploads.

Flask-Limiter counts in Redis when REDIS_URL is set (every web process shares the
counts) and in memory otherwise. If Redis goes away the limits fall back to memory
and the page still answers. Limits attach to endpoints here, in one table, rather
than as decorators spread over the blueprints. Each app gets its own Limiter: the
extension keeps its storage and switches on the instance, so one shared object would
let the last app built decide for all of them.
"""
import hashlib

from flask import jsonify, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import current_user


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


# endpoint -> (setting that holds the limit, whose requests count together)
LIMITS = {
    "auth.login": ("RATELIMIT_LOGIN", by_address),
    "auth.register": ("RATELIMIT_REGISTER", by_address),
    "products.create_upload": ("RATELIMIT_UPLOAD", by_account),
    "api.create_upload": ("RATELIMIT_UPLOAD", by_account),
}


def _breached(limit):
    """JSON callers (the upload script, the API) get JSON; pages get the usual 429 page."""
    if request.path.startswith("/api/"):
        from webapp.api.errors import error_response

        return error_response(429, "Too many requests; please wait a little and try again.")
    if request.is_json or request.accept_mimetypes.best == "application/json":
        response = jsonify(error="Too many requests; please wait a little and try again.")
        response.status_code = 429
        return response
    return None


def init_limits(app) -> None:
    """Bind a limiter and wrap the limited views (called after the blueprints are registered)."""
    limiter = Limiter(key_func=by_address, app=app, key_prefix=app.config["RATELIMIT_KEY_PREFIX"])
    app.extensions["rate_limiter"] = limiter  # the extension itself keeps only weak references
    for endpoint, (setting, key) in LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            raise RuntimeError(f"rate-limited endpoint {endpoint} does not exist")
        app.view_functions[endpoint] = limiter.limit(
            lambda setting=setting: app.config[setting], key_func=key, methods=["POST"],
            on_breach=_breached)(view)

    @app.errorhandler(RateLimitExceeded)
    def too_many(error):
        # More specific than the app's 429 page, which would replace the JSON made above.
        if error.response is not None:
            return error.response
        return render_template("error.html", code=429, error=error), 429
