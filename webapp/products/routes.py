"""Artisan pages: products, direct uploads and the status the page polls."""
from flask import abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, select

from webapp.auth.session_account import checks_own_session, session_account, signed_in_account
from webapp.bounds import database_id
from webapp.extensions import db
from webapp.limits import by_account, rate_limit
from webapp.listings.merge import TEXT_FIELDS, edited, is_low_confidence, threshold
from webapp.listings.seller_facts import FIELDS, facts_out
from webapp.listings.workflow import back_to_draft_if_published, busy_job, latest_generated
from webapp.models import GeneratedListing, Job, Product, User
from webapp.poll_cache import poll_cache
from webapp.products import bp
from webapp.products.forms import ActionForm, BulkEditForm, KnownFactsForm, ListingForm, RatingForm, RegenerateForm
from webapp.products.uploads import UploadRefused, cancel_upload, confirm_upload, start_upload
from webapp.storage import get_store


def own_product(product_id) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.owner_id != current_user.id:
        abort(404)  # never reveal another artisan's product exists
    return product


def own_job(job_id) -> Job:
    """The signed-in artisan's job, in one query that checks ownership (404 for anyone else's)."""
    job = db.session.scalar(select(Job).join(Job.product)
                            .where(Job.id == job_id, Product.owner_id == current_user.id))
    if job is None:
        abort(404)
    return job


def job_status(job) -> dict:
    """The JSON the product page polls, from a Job (its listing loaded on demand)."""
    return status_json(status_fields(job, job.listing if job.state == "ready" else None))


def status_fields(job, listing) -> dict:
    """What the poll answers, from a job and its listing (ORM objects or the poll's row): plain
    data, as the poll's cache keeps it (webapp/poll_cache.py)."""
    out = None
    if job.state == "ready" and listing is not None:
        out = {"attributes": listing.attributes, "title": listing.title, "description": listing.description,
               "tags": listing.tags, "model_version": listing.model_version}
    return {"id": job.id, "state": job.state, "kind": job.kind, "error": job.error,
            "product_id": job.product_id, "listing": out}


def status_json(fields: dict) -> dict:
    data = {name: value for name, value in fields.items() if name != "listing"}
    data["product_url"] = url_for("products.detail", product_id=fields["product_id"])
    data["panel_url"] = url_for("products.panel", product_id=fields["product_id"])
    if fields["listing"] is not None:
        data["listing"] = fields["listing"]
    return data


@bp.get("/products")
@login_required
def index():
    products = db.session.scalars(select(Product).where(Product.owner_id == current_user.id)
                                  .order_by(Product.created_at.desc())).all()

    return render_template("products/index.html", thumb_url=thumbnail_url, action_form=ActionForm(),
                           products=[p for p in products if p.status != "archived"],
                           archived=[p for p in products if p.status == "archived"],
                           bulk_form=BulkEditForm(formdata=None))


@bp.get("/products/new")
@login_required
def new():
    return render_template("products/new.html", facts_form=KnownFactsForm(formdata=None))


def thumbnail_url(product):
    """A short-lived URL of the product's first thumbnail (made by the worker), or None."""
    photo = next((p for p in product.photos if p.thumbnail_key), None)
    return get_store().url(photo.thumbnail_key) if photo else None


def panel_context(product, typed=None) -> dict:
    """What the live part of the product page needs; ``typed`` (a bound listing form) keeps
    what the artisan typed on the page when it could not be saved."""
    store = get_store()
    listing_form = typed or ListingForm(formdata=None, title=product.title, description=product.description,
                               tags=", ".join(product.tags or []),
                               **{f"attr_{k}": v.get("value") for k, v in (product.attributes or {}).items()},
                               **{f"fact_{k}": "" if v is None else str(v) for k, v in facts_out(product).items()})
    return {
        "product": product, "job": product.latest_job, "busy": busy_job(product) is not None,
        "photos": [(p, store.url(p.thumbnail_key) if p.thumbnail_key else None) for p in product.photos],
        "generated": latest_generated(product), "edited": edited(product),
        "text_fields": TEXT_FIELDS, "is_low": is_low_confidence, "threshold": threshold(),
        "listing_form": listing_form, "action_form": ActionForm(), "fact_fields": FIELDS,
        "regenerate_form": RegenerateForm(formdata=None, tone=product.tone, length=product.length),
        "rating_form": RatingForm(formdata=None),
    }


@bp.get("/products/<int:product_id>")
@login_required
def detail(product_id):
    return render_template("products/detail.html", **panel_context(own_product(product_id)))


@bp.post("/uploads")
@login_required
@rate_limit("RATELIMIT_UPLOAD", by_account)
def create_upload():
    body = request.get_json(silent=True) or {}
    try:
        product = own_product(database_id(body["product_id"])) if body.get("product_id") else None
        size = int(body.get("size", 0))
        facts = body.get("attributes") or {}
        if not isinstance(facts, dict):
            raise TypeError("attributes")
        job, post = start_upload(current_user, str(body.get("filename", "")),
                                 str(body.get("content_type", "")), size, product=product, facts=facts)
    except (TypeError, ValueError):
        return jsonify(error="The upload request is malformed."), 400
    except UploadRefused as exc:
        return jsonify(error=str(exc)), 400
    if product is not None and back_to_draft_if_published(product):
        db.session.commit()  # a new photo is shown to customers only after a new review
    return jsonify(job_id=job.id, upload=post,
                   confirm_url=url_for("products.confirm", job_id=job.id),
                   cancel_url=url_for("products.cancel", job_id=job.id),
                   status_url=url_for("products.status", job_id=job.id),
                   product_url=url_for("products.detail", product_id=job.product_id)), 201


@bp.post("/uploads/<job_id>/confirm")
@login_required
def confirm(job_id):
    job = own_job(job_id)
    try:
        confirm_upload(job)
    except UploadRefused as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(job_status(job)), 202


@bp.post("/uploads/<job_id>/cancel")
@login_required
def cancel(job_id):
    try:
        cancel_upload(own_job(job_id))
    except UploadRefused as exc:
        return jsonify(error=str(exc)), 409
    return "", 204


# The status poll's one query: the columns status_json() reads, of the job and its listing,
# for a job whose product the session's account owns, while that session has not been ended
# (the account's session version is the session's). Built once (the pure-Python driver parses
# every column sent, and the ORM would build and cache-key a statement on every poll).
POLL_QUERY = (
    select(Job.id, Job.state, Job.kind, Job.error, Job.product_id, GeneratedListing.id.label("listing_id"),
           GeneratedListing.attributes, GeneratedListing.title, GeneratedListing.description,
           GeneratedListing.tags, GeneratedListing.model_version)
    .join(Product, Product.id == Job.product_id)
    .join(User, (User.id == Product.owner_id) & (User.session_version == bindparam("version")))
    .outerjoin(GeneratedListing, GeneratedListing.job_id == Job.id)
    .where(Job.id == bindparam("job_id"), Product.owner_id == bindparam("owner_id")))


def polled_status(job_id: str, owner_id: int, version: int) -> dict | None:
    """The job's status fields if the job is the account's and the session (its version) is
    current; None if not. From the poll's cache when it has both, else from the one query,
    which then fills the cache."""
    cache = poll_cache()
    looked = cache.lookup(job_id, owner_id, version) if cache else None
    if looked is not None and looked.fields is not None:
        return looked.fields
    first_read = not db.session().in_transaction()  # so the query's snapshot comes after the lookup
    row = db.session.execute(POLL_QUERY, {"job_id": job_id, "owner_id": owner_id, "version": version}).first()
    if row is None:
        return None
    fields = status_fields(row, row if row.listing_id is not None else None)
    if looked is not None and first_read:
        cache.fill(looked, job_id, owner_id, version, fields)
    return fields


@bp.get("/jobs/<job_id>")
@checks_own_session
def status(job_id):
    # The page polls this every second or two while a listing is being written: answered from
    # the poll's cache (Redis), or one query that also checks the session (the account and
    # session version it names), so the user is not loaded first. None: not this account's
    # job, or an ended session; Flask-Login tells which.
    account = session_account()
    if account is not None:
        owner_id, version = account
        fields = polled_status(job_id, owner_id, version)
        if fields is not None:
            signed_in_account(owner_id)
            return jsonify(status_json(fields))
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if account is None:  # a session from before the account key: the slower path
        return jsonify(job_status(own_job(job_id)))
    abort(404)
