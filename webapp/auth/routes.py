"""Register, sign in and sign out."""
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webapp.auth.forms import LoginForm, RegisterForm
from webapp.auth.passwords import HashingBusy, hash_password, verify_password
from webapp.extensions import db, login_manager
from webapp.limits import by_address, by_email, failed_sign_in, rate_limit
from webapp.models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id):
    return db.session.get(User, int(user_id))


def safe_next(target):
    """Only follow `next=` to a path on this site, never to another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def busy(error: HashingBusy):
    """No turn to hash a password soon: answer at once, never queue the web thread."""
    return render_template("error.html", code=429, error=error), 429, {"Retry-After": "1"}


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATELIMIT_REGISTER", by_address)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("products.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        wait = current_app.config["PASSWORD_HASH_WAIT"]
        try:
            password_hash = hash_password(form.password.data, wait)  # for a taken email too: same time
        except HashingBusy as error:
            return busy(error)
        if db.session.scalar(select(User.id).where(User.email == email)) is not None:
            # The same words whoever owns the address: registration is no account oracle.
            flash(TAKEN_OR_NEW, "info")
            return redirect(url_for("auth.login"))
        user = User(email=email, is_admin=email in current_app.config["ADMIN_EMAILS"],
                    password_hash=password_hash)
        db.session.add(user)
        db.session.commit()
        login_user(user)
        flash("Welcome! Upload a photo to create your first listing.", "success")
        return redirect(url_for("products.index"))
    return render_template("auth/register.html", form=form)


TAKEN_OR_NEW = ("If this address already has an account, sign in with its password "
                "(or reset it); no second account was made.")


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN", by_address)
@rate_limit("RATELIMIT_LOGIN_ACCOUNT", by_email, deduct_when=failed_sign_in)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("products.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        try:
            # An unknown email is checked against a dummy hash: the same time as a known one.
            right = verify_password(user.password_hash if user else None, form.password.data,
                                    current_app.config["PASSWORD_HASH_WAIT"])
        except HashingBusy as error:
            return busy(error)
        if not right:
            flash("Email or password is not right.", "error")
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("products.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
