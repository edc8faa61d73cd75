"""Operator commands for `flask ...`."""
import click
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import User, utcnow


@click.command("create-admin")
@click.argument("email")
@click.password_option()
def create_admin(email, password):
    """Create an admin account, or make an existing account an admin (verified: the operator vouches)."""
    email = email.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email)
        db.session.add(user)
    else:
        user.end_sessions()  # a new password ends the old sessions, as every password change does
    user.set_password(password)
    user.is_admin = True
    user.email_verified_at = user.email_verified_at or utcnow()
    db.session.commit()
    click.echo(f"{email} is an admin.")
