"""Registration that is no account oracle: the address is proven before the first sign-in.

Registering always answers the same "check your email" page, after the same password hash.
A new address gets an unverified account and a link (webapp/auth/links.py); a taken one
gets a note to its owner instead. Following the link and typing the password chosen at
registration (a form, so a mail scanner that opens links proves nothing and signs nobody in)
verifies the address and signs in; an ADMIN_EMAILS address becomes an admin there, with no
second link. A registration for an address still unverified replaces the unfinished one: its
password counts and older links stop working. Asking for the password at the link is what
keeps a squatter out: whoever registers the owner's address after the owner causes a link in
the owner's mailbox, but the owner's own password does not finish the squatter's
registration. "Send the link again" answers the same for any address.
"""
import logging

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.auth import bp
from webapp.auth.forms import RegisterForm, ResendForm, VerifyForm
from webapp.auth.links import link_token, user_from_link
from webapp.auth.passwords import HashingBusy, hash_password, verify_password
from webapp.extensions import db
from webapp.limits import by_address, by_email, rate_limit, whole_site
from webapp.mail import send_mail
from webapp.models import User, utcnow

log = logging.getLogger(__name__)


def busy_page(error: HashingBusy):
    """No turn to hash a password soon: answer at once, never queue the web thread."""
    # 2, not 1: Flask-Limiter's header hook rounds an existing Retry-After down to the whole
    # second (int(now + 1) - now), so "1" can leave the response saying "Retry-After: 0".
    return render_template("error.html", code=429, error=error), 429, {"Retry-After": "2"}


def prove_address(user: User) -> None:
    """The owner of the address followed an emailed link: verified, and an admin if listed."""
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
    if user.email in current_app.config["ADMIN_EMAILS"] and not user.is_admin:
        user.is_admin = True
        log.info("user %s proved an ADMIN_EMAILS address and is an admin", user.id)


def send_verification(user: User) -> None:
    send_mail(user.email, "Finish creating your account",
              "Follow this link to confirm your address and sign in (it works once, for a day):\n"
              + url_for("auth.verify", token=link_token("verify", user), _external=True)
              + "\n\nIf you did not register, ignore this email: no account is made without it.")


def send_already_registered(user: User) -> None:
    send_mail(user.email, "Someone tried to register with your address",
              "Someone (perhaps you) tried to create an account with this address, which already has "
              "one. Nothing was changed. Sign in at " + url_for("auth.login", _external=True)
              + " or, if you forgot your password, set a new one at "
              + url_for("auth.reset_request", _external=True) + ".")


def check_email_page(email: str):
    """The one answer to every registration and resend, whoever owns the address."""
    return render_template("auth/check_email.html", email=email, form=ResendForm(email=email))


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN_SITE", whole_site)
@rate_limit("RATELIMIT_REGISTER", by_address)
@rate_limit("RATELIMIT_REGISTER", by_email)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("products.index"))
    form = RegisterForm()
    if not form.validate_on_submit():
        return render_template("auth/register.html", form=form)
    email = form.email.data.strip().lower()
    try:
        password_hash = hash_password(form.password.data, current_app.config["PASSWORD_HASH_WAIT"])
    except HashingBusy as error:  # for a taken address too: the same work, the same time
        return busy_page(error)
    # The insert is tried for a taken address too (the unique index refuses it): both answers
    # cost a hash and an insert, and two registrations at once make one account.
    user = User(email=email, password_hash=password_hash)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        user = db.session.scalar(select(User).where(User.email == email))
    else:
        send_verification(user)
        return check_email_page(email)
    if user.is_verified:
        send_already_registered(user)
    else:
        # An unfinished registration: this one replaces it, and older links stop working.
        user.password_hash = password_hash
        user.end_sessions()
        db.session.commit()
        send_verification(user)
    return check_email_page(email)


@bp.route("/register/resend", methods=["POST"])
@rate_limit("RATELIMIT_RESET", by_address)
@rate_limit("RATELIMIT_RESET", by_email)
def resend_verification():
    form = ResendForm()
    if not form.validate_on_submit():
        return redirect(url_for("auth.register"))
    email = form.email.data.strip().lower()
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None:
        (send_already_registered if user.is_verified else send_verification)(user)
    return check_email_page(email)  # the same for an unknown address


NOT_THIS_REGISTRATION = (
    "That is not the password of the registration this link was sent for. If you did not register "
    "just now, someone else may have used your address: register again for a link of your own, or "
    "set a password with \"Forgot your password?\".")


@bp.route("/verify/<token>", methods=["GET", "POST"])
@rate_limit("RATELIMIT_LOGIN", by_address)
def verify(token):
    user = user_from_link("verify", token)
    if user is None:
        flash("This link has expired or was already used. Sign in, or register again for a new link.",
              "error")
        return redirect(url_for("auth.login"))
    form = VerifyForm()
    if not form.validate_on_submit():
        return render_template("auth/verify.html", form=form, email=user.email)
    try:
        right = verify_password(user.password_hash, form.password.data,
                                current_app.config["PASSWORD_HASH_WAIT"])
    except HashingBusy as error:
        return busy_page(error)
    if not right:  # the link stays usable: the owner may have mistyped
        form.password.errors.append(NOT_THIS_REGISTRATION)
        return render_template("auth/verify.html", form=form, email=user.email), 200
    prove_address(user)
    user.end_sessions()  # this link works once
    db.session.commit()
    login_user(user)
    log.info("user %s verified their address", user.id)
    flash("Welcome! Upload a photo to create your first listing.", "success")
    return redirect(url_for("products.index"))
