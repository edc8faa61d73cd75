"""Admin access: every admin request re-reads the person's role from the database."""
from flask import abort
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db, login_manager
from webapp.models import User


def require_admin():
    """`before_request` hook for admin blueprints: sign-in required, then a fresh role check."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    is_admin = db.session.scalar(select(User.is_admin).where(User.id == current_user.id))
    if not is_admin:
        abort(403)
    return None
