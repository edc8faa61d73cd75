"""Bearer-token authentication for the API; the session cookie is ignored here, so the API
needs no CSRF protection."""
from functools import wraps

from flask import g, request

from webapp.account.tokens import user_for_token
from webapp.api.errors import ApiError


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "Send a valid API token: Authorization: Bearer <token>.")
        g.api_user = user
        return view(*args, **kwargs)
    return wrapper
