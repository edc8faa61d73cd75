"""Signed, expiring links sent by email: password reset and address verification.

Each link names the account's session version, which following it moves on: a link works
once, and no longer after a password change, "sign out everywhere" or a newer registration
of the same unverified address. The purpose is part of the signature, so a reset link is
no verification link and the other way round.
"""
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp.extensions import db
from webapp.models import User

TTL_SETTING = {"reset": "RESET_LINK_TTL", "verify": "VERIFY_LINK_TTL"}


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=f"jai-{purpose}")


def link_token(purpose: str, user: User) -> str:
    """A token for `purpose` ("reset" or "verify") bound to the account, its address and session version."""
    return _serializer(purpose).dumps({"u": user.id, "v": user.session_version, "e": user.email})


def user_from_link(purpose: str, token: str) -> User | None:
    """The account a still-valid token names, or None (forged, expired, used, or superseded)."""
    try:
        data = _serializer(purpose).loads(token, max_age=current_app.config[TTL_SETTING[purpose]])
    except BadSignature:  # also SignatureExpired
        return None
    user = db.session.get(User, int(data["u"]))
    if user is None or user.session_version != data["v"] or user.email != data.get("e", user.email):
        return None
    return user
