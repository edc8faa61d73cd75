"""API actions on a product, as on its page: edit the listing, write a new version, submit for review.

The same functions as the web forms do the work (webapp/listings/), so a field changed
through the API is a person's field too, and regeneration keeps it.
"""
from flask import jsonify, request

from ml.vocab import LENGTHS, TONES
from webapp import taxonomy
from webapp.api import bp
from webapp.api.auth import token_required
from webapp.api.errors import ApiError
from webapp.api.routes import owned_product
from webapp.api.serialize import job_out, product_out
from webapp.audit import audit_as
from webapp.extensions import db
from webapp.listings.merge import apply_edits
from webapp.listings.reruns import request_regeneration
from webapp.listings.seller_facts import FIELDS, FactError, apply_facts, clean_facts, current_facts
from webapp.listings.workflow import WorkflowError, back_to_draft_if_published, submit

TITLE_MAX, DESCRIPTION_MAX, TAGS_MAX, TAG_MAX = 200, 5000, 30, 50  # the web form's limits, per field


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "Send a JSON object.")
    return body


def _text(body, name, limit, current, required=False):
    value = body.get(name, current)
    if not isinstance(value, str) or len(value.strip()) > limit or (required and not value.strip()):
        raise ApiError(422, f"{name} must be {'non-empty ' if required else ''}text of at most {limit} characters.")
    return value.strip()


def _edits(body, product):
    """The full set of values apply_edits takes: what the body sends, the product's own for the rest."""
    title = _text(body, "title", TITLE_MAX, product.title or "", required=True)
    description = _text(body, "description", DESCRIPTION_MAX, product.description or "")
    tags = body.get("tags", product.tags or [])
    if (not isinstance(tags, list) or len(tags) > TAGS_MAX
            or not all(isinstance(t, str) and 0 < len(t.strip()) <= TAG_MAX for t in tags)):
        raise ApiError(422, f"tags must be a list of at most {TAGS_MAX} texts of 1 to {TAG_MAX} characters.")
    values = body.get("attributes", {})
    attributes = taxonomy.current().attributes
    if not isinstance(values, dict) or any(attributes.get(k) is None or v not in attributes[k]
                                           for k, v in values.items()):
        raise ApiError(422, "attributes maps attribute names to values from the vocabulary: "
                            + "; ".join(f"{k}: {', '.join(v)}" for k, v in attributes.items()))
    confirm = body.get("confirm", [])
    if not isinstance(confirm, list) or any(name not in attributes for name in confirm):
        raise ApiError(422, f"confirm lists attribute names: {', '.join(attributes)}.")
    # An attribute given a value is one a person checked, even if the model had the same value.
    return title, description, list(dict.fromkeys(t.strip() for t in tags)), values, set(confirm) | set(values)


@bp.patch("/products/<int:product_id>")
@token_required
def edit_product(product_id):
    """Change the listing; every field sent that differs, and every attribute set or confirmed, becomes the person's."""
    product = owned_product(product_id)
    body = _json_object()
    facts = body.get("facts", {})
    if not isinstance(facts, dict) or set(facts) - set(FIELDS):
        raise ApiError(422, f"facts maps these names to values: {', '.join(FIELDS)}.")
    if any(v is not None and not isinstance(v, (str, int, float)) for v in facts.values()):
        raise ApiError(422, "Each fact is text, a number or null.")
    try:
        cleaned = clean_facts(facts, current_facts(product))
    except FactError as exc:
        raise ApiError(422, str(exc)) from exc
    changed = apply_edits(product, *_edits(body, product)) + apply_facts(product, cleaned)
    if changed:
        back_to_draft_if_published(product)
        audit_as("product.edit")
        db.session.commit()
    return jsonify(product_out(product))


@bp.post("/products/<int:product_id>/regenerate")
@token_required
def regenerate(product_id):
    """Queue a new version with a tone and length; fields a person wrote stay unless named in replace."""
    product = owned_product(product_id)
    body = _json_object()
    replace = body.get("replace", [])
    if not isinstance(replace, list) or not all(isinstance(f, str) for f in replace):
        raise ApiError(422, "replace lists field names, e.g. [\"title\", \"attributes.metal\"].")
    tone, length = body.get("tone", product.tone), body.get("length", product.length)
    if tone not in TONES or length not in LENGTHS:
        raise ApiError(422, f"tone is one of {', '.join(TONES)}; length one of {', '.join(LENGTHS)}.")
    try:
        job = request_regeneration(product, tone, length, replace)
    except WorkflowError as exc:  # still being written, or no photo yet
        raise ApiError(409, str(exc)) from exc
    return jsonify(job_out(job)), 202


@bp.post("/products/<int:product_id>/submit")
@token_required
def submit_product(product_id):
    """Send the listing to the reviewers; nothing is published before a person approves it."""
    product = owned_product(product_id)
    try:
        submit(product)
    except WorkflowError as exc:
        raise ApiError(409, str(exc)) from exc
    return jsonify(product_out(product))
