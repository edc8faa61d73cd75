"""Artisan pages: products, direct uploads and the status the page polls."""
from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.models import Job, Product
from webapp.products.uploads import UploadRefused, cancel_upload, confirm_upload, start_upload
from webapp.storage import get_store
from webapp.listings.merge import TEXT_FIELDS, edited, is_low_confidence, threshold
from webapp.listings.workflow import back_to_draft_if_published, busy_job, latest_generated

bp = Blueprint("products", __name__)


def own_product(product_id) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.owner_id != current_user.id:
        abort(404)  # never reveal another artisan's product exists
    return product


def own_job(job_id, *options) -> Job:
    """The signed-in artisan's job, in one query that checks ownership (404 for anyone else's)."""
    job = db.session.scalar(select(Job).join(Job.product)
                            .where(Job.id == job_id, Product.owner_id == current_user.id).options(*options))
    if job is None:
        abort(404)
    return job


def job_status(job: Job) -> dict:
    """The JSON the product page polls."""
    data = {"id": job.id, "state": job.state, "kind": job.kind, "error": job.error,
            "product_id": job.product_id,
            "product_url": url_for("products.detail", product_id=job.product_id),
            "panel_url": url_for("products.panel", product_id=job.product_id)}
    if job.state == "ready" and job.listing is not None:
        listing = job.listing
        data["listing"] = {"attributes": listing.attributes, "title": listing.title,
                           "description": listing.description, "tags": listing.tags,
                           "model_version": listing.model_version}
    return data


@bp.get("/")
def home():
    return redirect(url_for("products.index" if current_user.is_authenticated else "catalog.index"))


@bp.get("/products")
@login_required
def index():
    products = db.session.scalars(select(Product).where(Product.owner_id == current_user.id)
                                  .order_by(Product.created_at.desc())).all()
    return render_template("products/index.html", products=products, thumb_url=thumbnail_url)


@bp.get("/products/new")
@login_required
def new():
    return render_template("products/new.html")


def thumbnail_url(product):
    """A short-lived URL of the product's first thumbnail (made by the worker), or None."""
    photo = next((p for p in product.photos if p.thumbnail_key), None)
    return get_store().url(photo.thumbnail_key) if photo else None


def panel_context(product) -> dict:
    """What the live part of the product page needs."""
    from webapp.products.forms import ActionForm, ListingForm, RatingForm, RegenerateForm

    store = get_store()
    listing_form = ListingForm(formdata=None, title=product.title, description=product.description,
                               tags=", ".join(product.tags or []),
                               **{f"attr_{k}": v.get("value") for k, v in (product.attributes or {}).items()})
    return {
        "product": product, "job": product.latest_job, "busy": busy_job(product) is not None,
        "photos": [(p, store.url(p.thumbnail_key) if p.thumbnail_key else None) for p in product.photos],
        "generated": latest_generated(product), "edited": edited(product),
        "text_fields": TEXT_FIELDS, "is_low": is_low_confidence, "threshold": threshold(),
        "listing_form": listing_form, "action_form": ActionForm(),
        "regenerate_form": RegenerateForm(formdata=None, tone=product.tone, length=product.length),
        "rating_form": RatingForm(formdata=None),
    }


@bp.get("/products/<int:product_id>")
@login_required
def detail(product_id):
    return render_template("products/detail.html", **panel_context(own_product(product_id)))


@bp.post("/uploads")
@login_required
def create_upload():
    body = request.get_json(silent=True) or {}
    try:
        product = own_product(int(body["product_id"])) if body.get("product_id") else None
        size = int(body.get("size", 0))
        job, post = start_upload(current_user, str(body.get("filename", "")),
                                 str(body.get("content_type", "")), size, product=product)
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


@bp.get("/jobs/<job_id>")
@login_required
def status(job_id):
    # The poll runs every second or two per open page: the job and its listing in one query.
    return jsonify(job_status(own_job(job_id, joinedload(Job.listing))))


from webapp.products import editing  # noqa: E402,F401  (more routes on this blueprint)
