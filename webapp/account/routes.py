"""Settings page: API tokens, shop name, password change and "sign out everywhere"."""
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, login_user
from sqlalchemy import select

from webapp.account import bp
from webapp.account.forms import ShopForm, TokenForm
from webapp.account.tokens import create_token, revoke
from webapp.auth.forms import ChangePasswordForm
from webapp.auth.passwords import HashingBusy
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.products.forms import ActionForm


def render_settings(form, new_token=None, status=200, password_form=None):
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.user_id == current_user.id)
                                .order_by(ApiToken.created_at.desc())).all()
    return render_template("account/settings.html", form=form, tokens=tokens, new_token=new_token,
                           action_form=ActionForm(),
                           password_form=password_form or ChangePasswordForm(formdata=None),
                           shop_form=ShopForm(formdata=None, shop_name=current_user.shop_name)), status


@bp.get("/")
@login_required
def settings():
    return render_settings(TokenForm(formdata=None))


@bp.post("/tokens")
@login_required
def new_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_settings(form, status=400)
    _, plain = create_token(current_user, form.name.data)
    # Shown in this response only, never put in the session or a flash message.
    return render_settings(TokenForm(formdata=None), new_token=plain, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    revoke(row)
    flash(f"Token “{row.name}” revoked.", "success")
    return redirect(url_for("account.settings"))


@bp.post("/shop")
@login_required
def shop():
    form = ShopForm()
    if not form.validate_on_submit():
        flash("A shop name can be at most 80 characters.", "error")
        return redirect(url_for("account.settings"))
    current_user.shop_name = (form.shop_name.data or "").strip() or None
    db.session.commit()
    flash("Shop name saved.", "success")
    return redirect(url_for("account.settings"))


def _restart_session():
    """End every session of the account, then carry on signed in here with the new version."""
    current_user.end_sessions()
    db.session.commit()
    login_user(current_user._get_current_object())


@bp.post("/password")
@login_required
def change_password():
    form = ChangePasswordForm()
    form.known_email = current_user.email
    if not form.validate_on_submit():
        return render_settings(TokenForm(formdata=None), status=400, password_form=form)
    wait = current_app.config["PASSWORD_HASH_WAIT"]
    try:
        if not current_user.check_password(form.current.data, wait):
            form.current.errors.append("This is not your current password.")
            return render_settings(TokenForm(formdata=None), status=400, password_form=form)
        current_user.set_password(form.password.data, wait)
    except HashingBusy:
        flash("Many people are signing in right now; please try again in a moment.", "error")
        return redirect(url_for("account.settings"))
    _restart_session()
    flash("Password changed; you are signed out everywhere else.", "success")
    return redirect(url_for("account.settings"))


@bp.post("/sessions/end")
@login_required
def sign_out_everywhere():
    if not ActionForm().validate_on_submit():
        abort(400)
    _restart_session()
    flash("Signed out on every other device.", "success")
    return redirect(url_for("account.settings"))
