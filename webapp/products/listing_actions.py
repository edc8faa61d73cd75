"""Artisan actions on a product: edit, regenerate, retry, submit for review, rate the text."""
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp import taxonomy
from webapp.audit import audit_as
from webapp.extensions import db
from webapp.history_tables import ListingRating
from webapp.listings.merge import apply_edits, parse_tags
from webapp.listings.reruns import request_regeneration, retry
from webapp.listings.seller_facts import FIELDS, FactError, apply_facts, clean_facts, current_facts
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


def save_listing_form(product, form) -> list[str]:
    """What the listing form sent, as a person's edits and facts; the names that changed."""
    facts = clean_facts({name: getattr(form, f"fact_{name}").data for name in FIELDS}, current_facts(product))
    names = taxonomy.current().names
    values = {name: getattr(form, f"attr_{name}").data for name in names}
    confirmed = {name for name in names if getattr(form, f"confirm_{name}").data}
    changed = apply_edits(product, form.title.data.strip(), (form.description.data or "").strip(),
                          parse_tags(form.tags.data), values, confirmed)
    return changed + apply_facts(product, facts)


@bp.post("/products/<int:product_id>")
@login_required
def edit(product_id):
    product = own_product(product_id)
    form = ListingForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(product, "#listing")
    try:
        changed = save_listing_form(product, form)
    except FactError as exc:
        flash(str(exc), "error")
        return _back(product, "#listing")
    if changed:
        unpublished = back_to_draft_if_published(product)
        audit_as("product.edit")
        db.session.commit()
        flash("Saved." + (" It goes back to review when you submit it again." if unpublished else ""),
              "success")
    else:
        flash("Nothing changed.", "info")
    return _back(product, "#listing")


def _save_typing(product) -> str | None:
    """Save what the artisan typed in the listing form before a regeneration replaces the page.

    The page sends the form along with Regenerate (hx-include), so unsaved typing becomes the
    artisan's own text, which the new version keeps. Returns None when nothing was sent or it
    was saved, else the message saying why it could not be saved (nothing is regenerated then)."""
    if "title" not in request.form:
        return None
    listing = ListingForm()
    if not listing.validate():
        return "Your typing was not saved: " + "; ".join(
            f"{getattr(listing, f).label.text}: {e[0]}" for f, e in listing.errors.items()) + ". Nothing was rewritten."
    try:
        changed = save_listing_form(product, listing)
    except FactError as exc:
        return f"Your typing was not saved: {exc} Nothing was rewritten."
    if changed:
        audit_as("product.edit")
        db.session.commit()
    return None


@bp.post("/products/<int:product_id>/regenerate")
@login_required
def regenerate(product_id):
    """Queue a new version; htmx gets the live panel back (it then follows the job)."""
    product = own_product(product_id)
    form = RegenerateForm()
    notice = ("info", "Writing a new version. Fields you edited are kept unless you ticked them.")
    if not form.validate_on_submit():
        notice = ("error", "Pick a tone and a length from the lists.")
    typing = _save_typing(product) if notice[0] != "error" else None
    if typing:
        notice = ("error", typing)
    if notice[0] != "error":
        try:
            request_regeneration(product, form.tone.data, form.length.data, request.form.getlist("replace"))
        except WorkflowError as exc:
            notice = ("error", str(exc))
    if request.headers.get("HX-Request"):
        typed = ListingForm() if typing else None  # unsaved typing stays on the page
        return render_template("products/_panel.html", notice=notice, **panel_context(product, typed))
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
