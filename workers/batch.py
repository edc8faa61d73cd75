"""One task's batch: its own job plus the queued jobs it claimed (micro-batching), through the
models together.

The models cost much less per photo in a batch (one TFLite run over several images, one
compiled decode for every description), so under load a task takes the oldest queued jobs
with it (`job_lifecycle.claim_more`, claimed the way `claim_job` claims one), and the job's
own message, when it arrives, finds it taken and does nothing. The photos are read, and
their copies written and deleted, concurrently; the results are written in one transaction,
each under its own fenced claim (workers/result_writer.py). The lead job's errors take the
task's usual way (retry, fail with a reason); a claimed job that hits an error is handed
back to the queue under a task of its own, so each job still ends once.
"""
import logging
import time
from itertools import pairwise

import numpy as np
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ml.combine import predict_product
from webapp import job_lifecycle
from webapp.extensions import db
from webapp.listings.embeddings import from_bytes
from webapp.listings.merge import generation_options
from webapp.logging_setup import bind_log_ids
from webapp.metrics import INFERENCE_SECONDS, JOBS_FINISHED, UPLOAD_TO_READY_SECONDS
from webapp.models import Job, PhotoEmbedding, utcnow
from webapp.storage import get_store
from webapp.storage.errors import ObjectChanged
from workers import result_writer
from workers.concurrency import Deadline, concurrently
from workers.explain import queue_heatmap
from workers.model_loader import get_generator
from workers.photos import BadPhoto, decode_photo
from workers.result_writer import Done, Prepared, reset_session

log = logging.getLogger(__name__)

# The job fails (and the object is deleted) rather than describe bytes nobody confirmed.
REPLACED = "The photo was sent again after it was confirmed, so it may not be yours; please upload it again."
STEPS = ("photos read", "models", "copies stored", "listings written", "originals deleted")


class Batch:
    """The lead job and the claimed extras; `open` holds the extras not ended yet (job id -> attempt)."""

    def __init__(self, lead_id: str, lead_attempt: int, extras: dict[str, int], deadline: Deadline):
        self.lead_id, self.lead_attempt, self.deadline = lead_id, lead_attempt, deadline
        self.open = dict(extras)

    def run(self) -> str:
        """The lead job's outcome ("ready", "failed", "skipped"); raises the lead job's error."""
        marks = [time.perf_counter()]
        prepared = prepare_all({**self.open, self.lead_id: self.lead_attempt}, self.deadline)
        marks.append(time.perf_counter())
        self._end_extras({job_id: o for job_id, o in prepared.items() if not isinstance(o, Prepared)})
        lead = prepared[self.lead_id]
        if isinstance(lead, Exception):
            raise lead
        batch = [p for p in prepared.values() if isinstance(p, Prepared)]
        if not batch:
            return lead
        outcomes, later = self._generate_and_write(batch)
        log.info("batch of %d: " + ", ".join(f"{step} %d ms" for step in STEPS), len(batch),
                 *(int((b - a) * 1000) for a, b in pairwise(marks + later)))
        self._end_extras(outcomes)
        bind_log_ids(job_id=self.lead_id)
        if isinstance(lead, str):
            return lead
        if isinstance(outcomes[self.lead_id], Exception):
            raise outcomes[self.lead_id]
        return outcomes[self.lead_id]

    def _generate_and_write(self, batch: list[Prepared]) -> tuple[dict, list[float]]:
        """Models, copies, listings, originals: job id -> outcome, and the time each step ended."""
        started = time.perf_counter()
        results = get_generator().generate(
            [p.image for p in batch], tone=[p.options["tone"] for p in batch],
            length=[p.options["length"] for p in batch], seed=[p.options["seed"] for p in batch],
            given=[p.options["given"] for p in batch], facts=[p.options["facts"] for p in batch])
        for prepared, result in zip(batch, results, strict=True):
            if prepared.options.get("other_photos"):
                judge_from_all_photos(get_generator(), prepared, result)
        share = (time.perf_counter() - started) / len(batch)
        marks = [time.perf_counter()]
        self.deadline.check()
        store = get_store()
        outcomes, done = {}, []
        for prepared, result, copies in zip(batch, results, result_writer.store_copies(store, batch, self.deadline),
                                            strict=True):
            INFERENCE_SECONDS.labels(result["model_version"]).observe(share)
            if isinstance(copies, Exception):
                outcomes[prepared.job_id] = copies
            else:
                done.append(Done(prepared, copies, result))
        marks.append(time.perf_counter())
        outcomes.update(result_writer.write_listings(done, share))
        marks.append(time.perf_counter())
        result_writer.delete_originals(store, done, outcomes)
        marks.append(time.perf_counter())
        for item in done:
            if outcomes[item.prepared.job_id] == "ready":
                _after_ready(item.prepared, share)
        return outcomes, marks

    def _end_extras(self, outcomes: dict) -> None:
        """Count the extras that ended and hand back those that hit an error."""
        for job_id in [j for j in self.open if j in outcomes]:
            attempt, outcome = self.open.pop(job_id), outcomes[job_id]
            if isinstance(outcome, Exception):
                hand_back(job_id, attempt, outcome)
            else:
                JOBS_FINISHED.labels(outcome).inc()

    def hand_back_open(self, exc: BaseException) -> None:
        """The lead job failed or ran out of time: every extra not ended goes back to the queue."""
        for job_id in list(self.open):
            hand_back(job_id, self.open.pop(job_id), exc)


def judge_from_all_photos(generator, prepared: Prepared, result: dict) -> None:
    """A photo added to a product: its attributes judged from every photo's probabilities
    (ml/combine.py), using the embeddings stored for the others by the same model version."""
    rows = db.session.scalars(select(PhotoEmbedding).where(
        PhotoEmbedding.photo_id.in_(prepared.options["other_photos"]),
        PhotoEmbedding.model_version == result["model_version"])).all()
    if not rows or result.get("embedding") is None:
        return
    embs = np.stack([np.asarray(result["embedding"], np.float32)] + [from_bytes(r.vector) for r in rows])
    given = prepared.options["given"]
    fixed = {a: v.get("value") for a, v in given.items() if generator.taxonomy.knows(a, v.get("value"))}
    result["attributes"], result["predicted"] = generator.attributes(
        predict_product(generator.image_model, embs, fixed), given)
    result["photos_judged"] = len(embs)


def _after_ready(prepared: Prepared, share: float) -> None:
    if prepared.queued_at is not None:
        UPLOAD_TO_READY_SECONDS.observe((utcnow() - prepared.queued_at).total_seconds())
    queue_heatmap(prepared.photo_id)  # Grad-CAM for the admin review page, as a task on its own queue
    bind_log_ids(job_id=prepared.job_id, product_id=prepared.product_id)
    log.info("job %s ready in %d ms", prepared.job_id, int(share * 1000))


def hand_back(job_id: str, attempt: int, exc: BaseException) -> None:
    """Put a batched job back in the queue under a task of its own (the reaper's, if that fails)."""
    reset_session()
    log.warning("job %s (batched): %s: %s; handed back to the queue", job_id, type(exc).__name__, exc)
    try:
        job_lifecycle.hand_back(job_id, attempt)
    except Exception as again:
        reset_session()
        log.warning("job %s: not handed back (%s); the reaper will", job_id, again)


def prepare_all(claims: dict[str, int], deadline: Deadline) -> dict:
    """Read the claimed jobs' rows in one transaction, then fetch and decode their photos concurrently.

    Returns job id -> Prepared, or "failed"/"skipped" for a photo that cannot be used (the job
    fails with the reason and the upload is deleted), or the exception that stopped the job.
    """
    config = current_app.config
    store, max_bytes = get_store(), config["UPLOAD_MAX_BYTES"]
    jobs = {job.id: job for job in db.session.scalars(
        select(Job).where(Job.id.in_(list(claims))).options(selectinload(Job.photo), selectinload(Job.product)))}
    out, plans = {}, []
    for job_id, attempt in claims.items():
        job = jobs.get(job_id)
        if job is None:
            out[job_id] = LookupError(f"job {job_id} is gone")
            continue
        plans.append(Prepared(job_id, attempt, job.product_id, job.photo_id, job.queued_at,
                              job.photo.object_key, None, generation_options(job), job.photo.upload_etag))
    db.session.commit()  # no transaction (and no row lock) held while storage and the models run

    def fetch(plan: Prepared):
        try:
            data = store.read(plan.source_key, max_bytes=max_bytes, if_match=plan.source_etag)
        except ObjectChanged:  # its signed form was sent again after the upload was confirmed
            raise BadPhoto(REPLACED) from None
        if len(data) > max_bytes:
            raise BadPhoto("The photo is larger than allowed.")
        return decode_photo(data)

    images = concurrently(fetch, plans, deadline)
    for plan, image in zip(plans, images, strict=True):
        if isinstance(image, BadPhoto):
            bind_log_ids(job_id=plan.job_id)
            out[plan.job_id] = _unusable(plan.job_id, plan.attempt, plan.source_key, str(image))
        elif isinstance(image, Exception):
            out[plan.job_id] = image
        else:
            plan.image = image
            out[plan.job_id] = plan
    return out


def _unusable(job_id: str, attempt: int, source_key: str, reason: str) -> str:
    """Fail the job with the reason and delete the upload: nothing unusable is kept."""
    if not job_lifecycle.fail_claimed(job_id, attempt, reason):
        return "skipped"
    try:
        get_store().delete(source_key)
    except Exception as delete_exc:
        log.warning("job %s: unusable photo %s not deleted: %s", job_id, source_key, delete_exc)
    return "failed"
