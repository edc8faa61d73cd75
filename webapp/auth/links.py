"""Signed, expiring links sent by email: password reset and admin address checks.

A reset link names the account's session version, which the reset itself moves on: a
link works once, and no longer after a password change or "sign out everywhere".
"""
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.extensions import db
from webapp.models import User


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"jai-{purpose}")


def reset_token(user: User) -> str:
    return _serializer("reset").dumps({"u": user.id, "v": user.session_version})


def user_from_reset(token: str) -> User | None:
    try:
        data = _serializer("reset").loads(token, max_age=current_app.config["RESET_LINK_TTL"])
    except BadSignature:  # also SignatureExpired
        return None
    user = db.session.get(User, int(data["u"]))
    return user if user is not None and user.session_version == data["v"] else None


def admin_token(user: User) -> str:
    return _serializer("admin").dumps({"u": user.id, "e": user.email})


def user_from_admin_token(token: str) -> User | None:
    try:
        data = _serializer("admin").loads(token, max_age=current_app.config["RESET_LINK_TTL"] * 24)
    except BadSignature:
        return None
    user = db.session.get(User, int(data["u"]))
    return user if user is not None and user.email == data["e"] else None
