"""The account a session names, readable without loading the user: for the status poll.

Flask-Login keeps the signed-in id under a session key of its own, which is not part of its
API; this module keeps a copy under ours, written and removed through Flask-Login's public
signals (every `login_user` and `logout_user`), so `session_account()` can say "account 7,
session version 3" with no query. The caller must still check the version against the
database (the status poll does it in its one query): only that makes an ended session stop
working. A session made before this key existed has none, and its caller falls back to
Flask-Login.

A view that checks the session itself marks it `@checks_own_session`; the app-wide
`check_session` hook (webapp/auth/routes.py) then leaves the user unloaded for it.
"""
from flask import g, session
from flask_login import user_logged_in, user_logged_out

SESSION_KEY = "account"


def session_account() -> tuple[int, int] | None:
    """(user id, session version) as the signed session names them, unchecked; None if none."""
    user_id, _, version = str(session.get(SESSION_KEY, "")).partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    return int(user_id), int(version)


def checks_own_session(view):
    """Mark a view that checks the session's account and version itself (in its own query)."""
    view.checks_own_session = True
    return view


def signed_in_account(user_id: int) -> None:
    """Call once the view's query has confirmed the session: what the user loader would set."""
    g.user_id = user_id  # for this request's log lines (webapp/logging_setup.py)
    g.session_account_checked = True  # a private answer (webapp/security.py), known without a query


def _remember(sender, user, **extra):
    session[SESSION_KEY] = user.get_id()


def _forget(sender, user, **extra):
    session.pop(SESSION_KEY, None)


user_logged_in.connect(_remember)
user_logged_out.connect(_forget)
