"""New work for the worker on an existing product: regenerate its text, or retry a failed job."""
from sqlalchemy.exc import IntegrityError

from ml.vocab import LENGTHS, TONES
from webapp import job_lifecycle
from webapp.extensions import db
from webapp.listings.merge import edited
from webapp.listings.workflow import WorkflowError, back_to_draft_if_published, busy_job
from webapp.models import Job
from webapp.quotas import QuotaReached, check_regeneration

STILL_WRITING = "The listing is still being written; wait for it to finish."


def usable_photo(product):
    """The first photo the worker has already read (it has a thumbnail)."""
    return next((p for p in product.photos if p.thumbnail_key), None)


def request_regeneration(product, tone: str, length: str, replace_fields=()) -> Job:
    """Queue a run with a new tone and length; person-edited fields stay unless named in replace."""
    if tone not in TONES or length not in LENGTHS:
        raise WorkflowError("Pick a tone and a length from the lists.")
    if busy_job(product):
        raise WorkflowError(STILL_WRITING)
    photo = usable_photo(product)
    if photo is None:
        raise WorkflowError("Upload a photo first: there is nothing to describe yet.")
    try:
        check_regeneration(product.owner_id)
    except QuotaReached as exc:
        raise WorkflowError(str(exc)) from None
    product.tone, product.length = tone, length
    back_to_draft_if_published(product)  # the text will change: it needs a new review
    try:
        job = job_lifecycle.new_job(product, photo, "regenerate", tone=tone, length=length,
                                    replace_fields=sorted(set(replace_fields) & edited(product)))
        db.session.commit()
    except IntegrityError:
        # Another request queued one a moment ago: the unique index on the product's running
        # regeneration (jobs.regenerating_product_id) lets only one in.
        db.session.rollback()
        raise WorkflowError(STILL_WRITING) from None
    job_lifecycle.send_job(job)
    return job


# What the artisan reads when a job cannot be retried (job_lifecycle.RequeueRefused.why).
REFUSALS = {"not failed": "Only a failed job can be retried.",
            "photo gone": "This photo could not be used and was removed; please upload another one."}


def retry(job: Job) -> Job:
    """Run a failed job again, if its photo is still in storage (unusable photos are deleted)."""
    try:
        job_lifecycle.requeue(job)
    except job_lifecycle.RequeueRefused as exc:
        raise WorkflowError(REFUSALS[exc.why]) from exc
    return job
