"""Artisan actions on a product: edit, regenerate, retry, submit for review, rate the text."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ml.vocab import ATTRIBUTE_NAMES
from webapp.audit import audit_as
from webapp.extensions import db
from webapp.history_tables import ListingRating
from webapp.listings.jobs import request_regeneration, retry
from webapp.listings.merge import apply_edits, parse_tags
from webapp.listings.workflow import WorkflowError, back_to_draft_if_published, latest_generated, submit
from webapp.products import bp
from webapp.products.forms import ActionForm, ListingForm, RatingForm, RegenerateForm
from webapp.products.routes import own_job, own_product, panel_context


def _back(product, anchor=""):
    return redirect(url_for("products.detail", product_id=product.id) + anchor)


def _form_errors(form):
    for field, errors in form.errors.items():
        label = getattr(form, field).label.text if hasattr(form, field) else field
        for error in errors:
            flash(f"{label}: {error}", "error")


@bp.get("/products/<int:product_id>/panel")
@login_required
def panel(product_id):
    """The live part of the product page, swapped in when a job finishes."""
    return render_template("products/_panel.html", **panel_context(own_product(product_id)))


@bp.post("/products/<int:product_id>")
@login_required
def edit(product_id):
    product = own_product(product_id)
    form = ListingForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(product, "#listing")
    values = {name: getattr(form, f"attr_{name}").data for name in ATTRIBUTE_NAMES}
    confirmed = {name for name in ATTRIBUTE_NAMES if getattr(form, f"confirm_{name}").data}
    changed = apply_edits(product, form.title.data.strip(), (form.description.data or "").strip(),
                          parse_tags(form.tags.data), values, confirmed)
    if changed:
        unpublished = back_to_draft_if_published(product)
        audit_as("product.edit")
        db.session.commit()
        flash("Saved." + (" It goes back to review when you submit it again." if unpublished else ""),
              "success")
    else:
        flash("Nothing changed.", "info")
    return _back(product, "#listing")


@bp.post("/products/<int:product_id>/regenerate")
@login_required
def regenerate(product_id):
    """Queue a new version; htmx gets the live panel back (it then follows the job)."""
    product = own_product(product_id)
    form = RegenerateForm()
    notice = ("info", "Writing a new version. Fields you edited are kept unless you ticked them.")
    if not form.validate_on_submit():
        notice = ("error", "Pick a tone and a length from the lists.")
    else:
        try:
            request_regeneration(product, form.tone.data, form.length.data, request.form.getlist("replace"))
        except WorkflowError as exc:
            notice = ("error", str(exc))
    if request.headers.get("HX-Request"):
        return render_template("products/_panel.html", notice=notice, **panel_context(product))
    flash(notice[1], notice[0])
    return _back(product)


@bp.post("/jobs/<job_id>/retry")
@login_required
def retry_job(job_id):
    job = own_job(job_id)
    if not ActionForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return _back(job.product)
    try:
        retry(job)
    except WorkflowError as exc:
        flash(str(exc), "error")
    return _back(job.product)


@bp.post("/products/<int:product_id>/submit")
@login_required
def submit_for_review(product_id):
    product = own_product(product_id)
    if not ActionForm().validate_on_submit():
        flash("The form expired; please try again.", "error")
        return _back(product)
    try:
        submit(product)
    except WorkflowError as exc:
        flash(str(exc), "error")
    else:
        flash("Sent for review. A person checks every listing before it is published.", "success")
    return _back(product)


@bp.post("/products/<int:product_id>/rating")
@login_required
def rate(product_id):
    """Store a rating; htmx gets the rating box back, a plain form post a redirect."""
    product = own_product(product_id)
    form = RatingForm()
    generated = latest_generated(product)
    rated = False
    if generated is None:
        flash("There is no generated text to rate yet.", "error")
    elif not form.validate_on_submit():
        if not request.headers.get("HX-Request"):
            _form_errors(form)  # htmx shows them inside the rating box
    else:
        db.session.add(ListingRating(product_id=product.id, generated_listing_id=generated.id,
                                     user_id=current_user.id, useful=form.useful.data == "yes",
                                     comment=(form.comment.data or "").strip() or None))
        db.session.commit()
        rated = True
    if request.headers.get("HX-Request"):
        return render_template("products/_rating.html", product=product, rated=rated,
                               rating_form=RatingForm(formdata=None) if rated else form)
    if rated:
        flash("Thank you: your rating helps the model learn.", "success")
    return _back(product, "#rating")
