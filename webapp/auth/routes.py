"""Register, sign in and out, reset a password by an emailed link, confirm an admin address.

A session names the account and its session version (User.get_id); the loader refuses a
session whose version has moved on, so signing out ends the session on the server, not
only in the browser that asked.
"""
import logging
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webapp.auth import bp
from webapp.auth.forms import LoginForm, NewPasswordForm, RegisterForm, ResetRequestForm
from webapp.auth.links import admin_token, reset_token, user_from_admin_token, user_from_reset
from webapp.auth.passwords import HashingBusy, hash_password, verify_password
from webapp.auth.session_account import SESSION_KEY
from webapp.extensions import db, login_manager
from webapp.limits import by_address, by_email, failed_sign_in, rate_limit, whole_site
from webapp.mail import send_mail
from webapp.models import User

log = logging.getLogger(__name__)


@login_manager.user_loader
def load_user(session_id):
    user_id, _, version = str(session_id).partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a cookie from before session versions: signed out
    user = db.session.get(User, int(user_id))
    if user is None or user.session_version != int(version):
        return None
    g.user_id = user.id  # for the log lines of this request (webapp/logging_setup.py)
    return user


@bp.before_app_request
def check_session():
    """Every request with a session cookie has it checked (and ended ones refused) before the view,
    but for a view that checks the session in its own query (webapp/auth/session_account.py)."""
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "checks_own_session", False) and SESSION_KEY in session:
        return
    current_user.is_authenticated  # noqa: B018  (loads the user through load_user)


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
    # 2, not 1: Flask-Limiter's header hook rounds an existing Retry-After down to the whole
    # second (int(now + 1) - now), so "1" can leave the response saying "Retry-After: 0".
    return render_template("error.html", code=429, error=error), 429, {"Retry-After": "2"}


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN_SITE", whole_site)
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
        user = User(email=email, password_hash=password_hash)
        db.session.add(user)
        db.session.commit()
        login_user(user)
        if email in current_app.config["ADMIN_EMAILS"]:
            # Admin only once the owner of the address follows this link.
            send_mail(email, "Confirm your admin address",
                      "Follow this link to confirm the address and become an admin:\n"
                      + url_for("auth.confirm_admin", token=admin_token(user), _external=True))
            flash("This address is an admin address: follow the link we emailed to it to become an admin.",
                  "info")
        flash("Welcome! Upload a photo to create your first listing.", "success")
        return redirect(url_for("products.index"))
    return render_template("auth/register.html", form=form)


TAKEN_OR_NEW = ("If this address already has an account, sign in with its password "
                "(or reset it); no second account was made.")


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN_SITE", whole_site)
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
    # Server-side: a copy of this session cookie (or a remember-me cookie) stops working too.
    current_user.end_sessions()
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


RESET_SENT = ("If an account uses this address, we have emailed it a link to set a new password. "
              "The link works once, for an hour.")


@bp.route("/reset", methods=["GET", "POST"])
@rate_limit("RATELIMIT_RESET", by_address)
@rate_limit("RATELIMIT_RESET", by_email)
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.email == form.email.data.strip().lower()))
        if user is not None:
            send_mail(user.email, "Set a new password",
                      "Follow this link to set a new password (it works once, for an hour):\n"
                      + url_for("auth.reset_password", token=reset_token(user), _external=True)
                      + "\n\nIf you did not ask for it, ignore this email: your password stays as it is.")
        flash(RESET_SENT, "info")  # the same words for an unknown address
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    user = user_from_reset(token)
    if user is None:
        flash("This link has expired or was already used; ask for a new one.", "error")
        return redirect(url_for("auth.reset_request"))
    form = NewPasswordForm()
    form.known_email = user.email
    if form.validate_on_submit():
        try:
            user.set_password(form.password.data, current_app.config["PASSWORD_HASH_WAIT"])
        except HashingBusy as error:
            return busy(error)
        user.end_sessions()  # every session, and this link, end here
        db.session.commit()
        log.info("password reset for user %s", user.id)
        flash("Your password is set; sign in with it.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.get("/confirm-admin/<token>")
def confirm_admin(token):
    """The link sent to an ADMIN_EMAILS address at registration: following it proves the address."""
    user = user_from_admin_token(token)
    if user is None or user.email not in current_app.config["ADMIN_EMAILS"]:
        abort(404)
    if not user.is_admin:
        user.is_admin = True
        db.session.commit()
        log.info("user %s confirmed an admin address and is an admin", user.id)
    flash("Address confirmed: you are an admin.", "success")
    return redirect(url_for("auth.login") if not current_user.is_authenticated else url_for("admin.queue"))
