"""API endpoints: uploads (create, confirm), jobs, and the caller's own products."""
from pathlib import Path

import yaml
from flask import Response, g, jsonify, request, url_for
from sqlalchemy import func, select
from werkzeug.exceptions import HTTPException

from webapp import taxonomy
from webapp.api import bp, errors
from webapp.api.auth import token_required
from webapp.api.errors import ApiError
from webapp.api.serialize import job_out, product_out
from webapp.bounds import MAX_PAGE, database_id
from webapp.extensions import csrf, db
from webapp.limits import by_account, rate_limit
from webapp.listings.workflow import back_to_draft_if_published
from webapp.models import Job, Product
from webapp.products.uploads import UploadRefused, confirm_upload, start_upload

csrf.exempt(bp)  # token auth only; no cookies are read
SPEC = Path(__file__).with_name("openapi.yaml")


@bp.errorhandler(ApiError)
def _api_error(error):
    return errors.from_exception(error)


@bp.errorhandler(HTTPException)
def _http_error(error):
    return errors.from_exception(error)


def owned_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or product.owner_id != g.api_user.id:
        raise ApiError(404, "No such product.")  # never reveal another artisan's product
    return product


def owned_job(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.product.owner_id != g.api_user.id:
        raise ApiError(404, "No such job.")
    return job


@bp.get("/openapi.yaml")
def openapi():
    """The spec, its attribute values enumerated from the promoted version's taxonomy."""
    tax = taxonomy.current()
    key = tuple((a, tuple(v)) for a, v in tax.attributes.items())
    if _SERVED.get("key") != key:
        spec = yaml.safe_load(SPEC.read_text())
        schema = spec["components"]["schemas"]["AttributeValues"]
        schema["properties"] = {a: {"type": "string", "enum": list(v)} for a, v in tax.attributes.items()}
        schema["additionalProperties"] = False
        _SERVED.update(key=key, body=yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return Response(_SERVED["body"], mimetype="application/yaml")


_SERVED: dict = {}


@bp.post("/uploads")
@token_required
@rate_limit("RATELIMIT_UPLOAD", by_account)
def create_upload():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Send a JSON object.")
    try:
        filename, content_type = str(body.get("filename", "")), str(body["content_type"])
        size = int(body["size"])
        product_id = body.get("product_id")
        product = owned_product(database_id(product_id)) if product_id is not None else None
    except (KeyError, TypeError, ValueError):
        raise ApiError(422, "content_type and size are required; size and product_id are integers.") from None
    try:
        job, post = start_upload(g.api_user, filename, content_type, size, product=product)
    except UploadRefused as exc:
        raise ApiError(422, str(exc), "upload_refused") from exc
    if product is not None and back_to_draft_if_published(product):
        db.session.commit()
    return jsonify(job=job_out(job), product_id=job.product_id,
                   upload={"url": post["url"], "fields": post["fields"]},
                   confirm_url=url_for("api.confirm", job_id=job.id, _external=True)), 201


@bp.post("/uploads/<job_id>/confirm")
@token_required
def confirm(job_id):
    job = owned_job(job_id)
    try:
        confirm_upload(job)
    except UploadRefused as exc:
        raise ApiError(409, str(exc), "not_uploaded") from exc
    return jsonify(job_out(job)), 202


@bp.get("/jobs/<job_id>")
@token_required
def job(job_id):
    return jsonify(job_out(owned_job(job_id)))


@bp.get("/products")
@token_required
def products():
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", 20, type=int)
    if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= 100:
        raise ApiError(422, "page must be 1 or more and per_page between 1 and 100.")
    query = select(Product).where(Product.owner_id == g.api_user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.order_by(Product.created_at.desc(), Product.id.desc())
                               .limit(per_page).offset((page - 1) * per_page)).all()
    return jsonify(items=[product_out(p, full=False) for p in items], page=page,
                   per_page=per_page, total=total)


@bp.get("/products/<int:product_id>")
@token_required
def product(product_id):
    return jsonify(product_out(owned_product(product_id)))
