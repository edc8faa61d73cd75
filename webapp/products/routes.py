"""Artisan pages: products, direct uploads and the status the page polls."""
from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Job, Product
from webapp.products.uploads import UploadRefused, cancel_upload, confirm_upload, start_upload
from webapp.storage import get_store

bp = Blueprint("products", __name__)


def own_product(product_id) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.owner_id != current_user.id:
        abort(404)  # never reveal another artisan's product exists
    return product


def own_job(job_id) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.product.owner_id != current_user.id:
        abort(404)
    return job


def job_status(job: Job) -> dict:
    """The JSON the product page polls."""
    data = {"id": job.id, "state": job.state, "error": job.error,
            "product_id": job.product_id,
            "product_url": url_for("products.detail", product_id=job.product_id)}
    if job.state == "ready" and job.listing is not None:
        listing = job.listing
        data["listing"] = {"attributes": listing.attributes, "title": listing.title,
                           "description": listing.description, "tags": listing.tags,
                           "model_version": listing.model_version}
    return data


@bp.get("/")
def home():
    return redirect(url_for("products.index" if current_user.is_authenticated else "auth.login"))


@bp.get("/products")
@login_required
def index():
    products = db.session.scalars(select(Product).where(Product.owner_id == current_user.id)
                                  .order_by(Product.created_at.desc())).all()
    return render_template("products/index.html", products=products)


@bp.get("/products/new")
@login_required
def new():
    return render_template("products/new.html")


@bp.get("/products/<int:product_id>")
@login_required
def detail(product_id):
    product = own_product(product_id)
    photo = product.photos[0] if product.photos else None
    image_url = None
    if photo is not None and photo.thumbnail_key:
        image_url = get_store().url(photo.thumbnail_key)
    return render_template("products/detail.html", product=product, job=product.latest_job,
                           image_url=image_url)


@bp.post("/uploads")
@login_required
def create_upload():
    body = request.get_json(silent=True) or {}
    try:
        size = int(body.get("size", 0))
        job, post = start_upload(current_user, str(body.get("filename", "")),
                                 str(body.get("content_type", "")), size)
    except (TypeError, ValueError):
        return jsonify(error="The upload request is malformed."), 400
    except UploadRefused as exc:
        return jsonify(error=str(exc)), 400
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
    return jsonify(job_status(own_job(job_id)))
