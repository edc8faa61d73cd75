"""Sign in and out, reset a password by an emailed link (registration: webapp/auth/signup.py).

A session names the account and its session version (User.get_id); the loader refuses a
session whose version has moved on, so signing out ends the session on the server, not
only in the browser that asked.
"""
import logging
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from webapp.auth import bp
from webapp.auth.forms import LoginForm, NewPasswordForm, ResetRequestForm
from webapp.auth.links import link_token, user_from_link
from webapp.auth.passwords import HashingBusy, verify_password
from webapp.auth.session_account import SESSION_KEY
from webapp.auth.signup import busy_page, check_email_page, prove_address
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
            return busy_page(error)
        if not right:
            flash("Email or password is not right.", "error")
        elif not user.is_verified:
            # Only someone who knows the password learns the registration is unfinished.
            return check_email_page(user.email)
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
                      + url_for("auth.reset_password", token=link_token("reset", user), _external=True)
                      + "\n\nIf you did not ask for it, ignore this email: your password stays as it is.")
        flash(RESET_SENT, "info")  # the same words for an unknown address
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    user = user_from_link("reset", token)
    if user is None:
        flash("This link has expired or was already used; ask for a new one.", "error")
        return redirect(url_for("auth.reset_request"))
    form = NewPasswordForm()
    form.known_email = user.email
    if form.validate_on_submit():
        try:
            user.set_password(form.password.data, current_app.config["PASSWORD_HASH_WAIT"])
        except HashingBusy as error:
            return busy_page(error)
        prove_address(user)  # the link reached the address: it is verified (an unfinished registration too)
        user.end_sessions()  # every session, and this link, end here
        db.session.commit()
        log.info("password reset for user %s", user.id)
        flash("Your password is set; sign in with it.", "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
