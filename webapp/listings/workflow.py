"""The review workflow: draft -> in review -> approved (published) or rejected.

Only `approve` publishes, and only an admin route calls it: nothing goes live without
a person. Submission and approval each store the diff between the generated text and
the text people settled on, which retraining reads.
"""
import difflib

from sqlalchemy import select

from webapp.audit import audit_as
from webapp.extensions import db
from webapp.history_tables import ListingDiff
from webapp.listings.merge import TEXT_FIELDS, attribute_field
from webapp.models import GeneratedListing, Job, Product, utcnow


class WorkflowError(Exception):
    """The action does not fit the product's state; the message is shown to the person."""


def latest_generated(product) -> GeneratedListing | None:
    return db.session.scalar(
        select(GeneratedListing).join(Job).where(Job.product_id == product.id)
        .order_by(GeneratedListing.created_at.desc(), GeneratedListing.id.desc()).limit(1))


def busy_job(product) -> Job | None:
    """A job still running for this product (a new one must wait for it)."""
    job = product.latest_job
    return job if job is not None and job.state in ("queued", "processing") else None


def _as_text(value) -> str:
    if isinstance(value, list):
        return ", ".join(value)
    return value or ""


def listing_diff(product, generated: GeneratedListing) -> tuple[dict, list]:
    """Per field: generated text, final text and a unified diff; plus the changed names."""
    fields, changed = {}, []
    pairs = [(f, _as_text(getattr(generated, f)), _as_text(getattr(product, f))) for f in TEXT_FIELDS]
    for name, attr in (generated.attributes or {}).items():
        final = ((product.attributes or {}).get(name) or {}).get("value", "")
        pairs.append((attribute_field(name), attr.get("value", ""), final))
    for field, before, after in pairs:
        diff = "\n".join(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                              "generated", "final", lineterm=""))
        fields[field] = {"generated": before, "final": after, "diff": diff}
        if before != after:
            changed.append(field)
    return fields, changed


def record_diff(product, stage: str) -> ListingDiff | None:
    generated = latest_generated(product)
    if generated is None:
        return None
    fields, changed = listing_diff(product, generated)
    row = ListingDiff(product_id=product.id, generated_listing_id=generated.id, stage=stage,
                      fields=fields, changed_fields=changed)
    db.session.add(row)
    return row


def submit(product: Product) -> None:
    if product.status not in ("draft", "rejected"):
        raise WorkflowError("This listing is already with the reviewers.")
    if busy_job(product) or latest_generated(product) is None or not (product.title or "").strip():
        raise WorkflowError("Wait until the listing is ready, and give it a title, before submitting.")
    audit_as("product.submit")
    product.status, product.submitted_at, product.rejection_reason = "in_review", utcnow(), None
    record_diff(product, "submitted")
    db.session.commit()


def approve(product: Product, reviewer) -> None:
    """Publish; the reviewer is a person, checked by the admin routes."""
    if product.status not in ("in_review", "rejected", "draft") or not product.title:
        raise WorkflowError("Only a listing with a title that is not yet published can be approved.")
    if busy_job(product):
        raise WorkflowError("New text is being written for this listing; approve it once that is done.")
    audit_as("product.approve")
    product.status, product.reviewed_at, product.reviewed_by_id = "approved", utcnow(), reviewer.id
    product.rejection_reason = None
    record_diff(product, "approved")
    db.session.commit()


def reject(product: Product, reviewer, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError("Please give the artisan a reason.")
    audit_as("product.reject")
    product.status, product.reviewed_at, product.reviewed_by_id = "rejected", utcnow(), reviewer.id
    product.rejection_reason = reason[:500]
    db.session.commit()


def back_to_draft_if_published(product: Product) -> bool:
    """Edits by the artisan take a listing out of review or off the catalogue until approved again."""
    if product.status in ("in_review", "approved"):
        product.status = "draft"
        return True
    return False
