"""How products, jobs and listings look in the API."""
from flask import url_for

from webapp.listings.merge import is_low_confidence, set_by_person, threshold
from webapp.listings.seller_facts import facts_out
from webapp.listings.workflow import latest_generated
from webapp.storage import get_store


def when(value):
    return value.isoformat(timespec="seconds") + "Z" if value else None


def attributes_out(attributes, limit):
    return {name: {"value": a.get("value"),
                   "confidence": None if set_by_person(a) or a.get("confidence") is None else float(a["confidence"]),
                   "source": a.get("source") or ("artisan" if a.get("confirmed") else "model"),
                   "confirmed": set_by_person(a), "low_confidence": is_low_confidence(a, limit)}
            for name, a in (attributes or {}).items()}


def job_out(job):
    if job is None:
        return None
    return {"id": job.id, "kind": job.kind, "state": job.state, "error": job.error,
            "product_id": job.product_id, "created_at": when(job.created_at),
            "finished_at": when(job.finished_at),
            "status_url": url_for("api.job", job_id=job.id, _external=True)}


def product_out(product, full=True):
    limit = threshold()
    data = {"id": product.id, "status": product.status, "title": product.title,
            "category": product.category, "metal": product.metal,
            "min_confidence": product.min_confidence,
            "created_at": when(product.created_at), "updated_at": when(product.updated_at),
            "job": job_out(product.latest_job),
            "url": url_for("api.product", product_id=product.id, _external=True)}
    if not full:
        return data
    store = get_store()
    generated = latest_generated(product)
    data.update({
        "description": product.description, "tags": product.tags or [],
        "attributes": attributes_out(product.attributes, limit),
        "edited_fields": product.edited_fields or [], "tone": product.tone, "length": product.length,
        "rejection_reason": product.rejection_reason, "facts": facts_out(product),
        "photos": [{"id": p.id, "width": p.width, "height": p.height,
                    "thumbnail_url": store.url(p.thumbnail_key) if p.thumbnail_key else None}
                   for p in product.photos],
        "generated": None if generated is None else {
            "title": generated.title, "description": generated.description, "tags": generated.tags,
            "attributes": attributes_out(generated.attributes, limit),
            "model_version": generated.model_version, "created_at": when(generated.created_at)},
    })
    return data
