"""Artisan actions that manage listings: delete, dismiss a failed upload, archive, duplicate,
and the same over a selection on the products page (bulk submit, bulk attribute edit)."""
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp import taxonomy
from webapp.audit import audit_as
from webapp.extensions import db
from webapp.listings.facts import UnknownValue, checked_facts, set_facts
from webapp.listings.lifecycle import archive, delete_product, duplicate, unarchive
from webapp.listings.seller_facts import FactError, apply_facts, clean_facts, current_facts
from webapp.listings.workflow import WorkflowError, back_to_draft_if_published, submit
from webapp.models import Product
from webapp.products import bp
from webapp.products.forms import ActionForm
from webapp.products.routes import own_product

BULK_LIMIT = 200


def _checked_form() -> bool:
    if ActionForm().validate_on_submit():
        return True
    flash("The form expired; please try again.", "error")
    return False


@bp.post("/products/<int:product_id>/delete")
@login_required
def delete(product_id):
    product = own_product(product_id)
    if not _checked_form():
        return redirect(url_for("products.detail", product_id=product.id))
    name = product.title or "The draft"
    try:
        delete_product(product)
    except WorkflowError as exc:
        flash(str(exc), "error")
        return redirect(url_for("products.detail", product_id=product_id))
    flash(f"{name} was deleted, with its photos.", "success")
    return redirect(url_for("products.index"))


@bp.post("/products/<int:product_id>/archive")
@login_required
def archive_product(product_id):
    product = own_product(product_id)
    if _checked_form():
        try:
            if request.form.get("undo"):
                unarchive(product)
                flash("Back among your drafts.", "success")
            else:
                archive(product)
                flash("Archived: it is off the catalogue and kept with its photos.", "success")
        except WorkflowError as exc:
            flash(str(exc), "error")
    return redirect(url_for("products.detail", product_id=product.id))


@bp.post("/products/<int:product_id>/duplicate")
@login_required
def duplicate_product(product_id):
    product = own_product(product_id)
    if not _checked_form():
        return redirect(url_for("products.detail", product_id=product.id))
    try:
        copy = duplicate(product)
    except WorkflowError as exc:
        flash(str(exc), "error")
        return redirect(url_for("products.detail", product_id=product.id))
    flash("A copy, as a new draft: change what differs and submit it.", "success")
    return redirect(url_for("products.detail", product_id=copy.id))


def selected_products() -> list[Product]:
    """The signed-in artisan's products named in the form's `ids` (anyone else's are ignored)."""
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:BULK_LIMIT]
    if not ids:
        return []
    return list(db.session.scalars(select(Product).where(Product.id.in_(ids),
                                                         Product.owner_id == current_user.id)
                                   .order_by(Product.id)))


def bulk_changes() -> dict:
    """What the bulk edit sets: {"attributes": {name: value}, "seller": {"price": ..., "currency": ...}}.

    Raises UnknownValue or FactError with a message for the person."""
    form = request.form
    attributes = checked_facts({name: form.get(f"set_{name}", "") for name in taxonomy.current().names})
    price, currency = form.get("set_price", "").strip(), form.get("set_currency", "").strip()
    seller = clean_facts({"price": price, "currency": currency}) if price or currency else {}
    return {"attributes": attributes, "seller": seller}


def _bulk_edit(product, changes) -> None:
    changed = set_facts(product, changes["attributes"])
    if changes["seller"]:
        changed += apply_facts(product, clean_facts(changes["seller"], current_facts(product)))
    if changed:
        back_to_draft_if_published(product)
        audit_as("product.bulk_edit")
    db.session.commit()


# What a bulk action does to one listing; each raises WorkflowError to refuse that listing.
ACTIONS = {"submit": lambda product, _changes: submit(product), "edit": _bulk_edit,
           "archive": lambda product, _changes: archive(product),
           "delete": lambda product, _changes: delete_product(product)}


@bp.post("/products/bulk")
@login_required
def bulk():
    """Apply one action to every selected listing; each listing's outcome is reported."""
    if not _checked_form():
        return redirect(url_for("products.index"))
    products = selected_products()
    action = request.form.get("action", "")
    if not products:
        flash("Select at least one listing first.", "error")
        return redirect(url_for("products.index"))
    done, refused = 0, []
    try:
        facts = bulk_changes() if action == "edit" else {}
    except (UnknownValue, FactError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("products.index"))
    if action == "edit" and not (facts["attributes"] or facts["seller"]):
        flash("Choose at least one value to set.", "error")
        return redirect(url_for("products.index"))
    if action not in ACTIONS:
        flash("Pick an action.", "error")
        return redirect(url_for("products.index"))
    for product in products:
        try:
            ACTIONS[action](product, facts)
            done += 1
        except WorkflowError as exc:
            db.session.rollback()
            refused.append(f"{product.title or f'Draft #{product.id}'}: {exc}")
    verbs = {"submit": "sent for review", "edit": "updated", "archive": "archived", "delete": "deleted"}
    flash(f"{done} listing{'' if done == 1 else 's'} {verbs[action]}.", "success" if done else "info")
    for line in refused:
        flash(line, "error")
    return redirect(url_for("products.index"))
