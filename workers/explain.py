"""Grad-CAM heatmaps for the admin review page, computed here and never in the web process.

Queued after a photo's listing is ready; the overlay PNG goes to object storage under
`<S3_PREFIX>heatmaps/` and a `PhotoHeatmap` row points the review page at it.
"""
import logging

from celery import shared_task
from flask import current_app
from PIL import Image
from sqlalchemy import select

from ml.gradcam import category_heatmap, overlay_png
from webapp.extensions import db
from webapp.models import Job, Photo, PhotoHeatmap, utcnow
from webapp.storage import get_store
from workers.model_loader import get_generator
from workers.photos import BadPhoto, decode_photo

log = logging.getLogger(__name__)
# A heatmap steps aside while a listing waits, at most this many times (each costs one broker
# poll); then it runs anyway, so a steady stream of uploads cannot starve it for ever.
MAX_YIELDS = 200


def heatmap_key(config, photo_id: int) -> str:
    return f"{config.get('S3_PREFIX', '')}heatmaps/{photo_id}.png"


def listing_waiting() -> bool:
    return db.session.scalar(select(Job.id).where(Job.state == "queued").limit(1)) is not None


def step_aside(photo_id: int, yields: int) -> bool:
    """Send this heatmap to the back of its queue if a listing is waiting; True if it was.

    Redis reads the listing queue first anyway; the folder broker reads its queues in turn, so
    without this a batch of heatmaps would run between the listings of one upload. It is sent
    again at once, never with a countdown (an ETA message held by the worker crashed it when
    Redis went away, docs/performance.md); if sending fails, the heatmap simply runs now.
    """
    if yields >= MAX_YIELDS or not listing_waiting():
        return False
    try:
        store_heatmap.apply_async(args=[photo_id], kwargs={"yields": yields + 1})
    except Exception as exc:
        log.warning("heatmap for photo %s not re-queued (%s); computing it now", photo_id, exc)
        return False
    return True


@shared_task(name="workers.explain.store_heatmap", ignore_result=True, acks_late=True)
def store_heatmap(photo_id: int, yields: int = 0) -> str:
    """Compute and store the category heatmap of one processed photo; running it twice overwrites."""
    if step_aside(photo_id, yields):
        db.session.commit()
        return "deferred"
    config = current_app.config
    photo = db.session.get(Photo, photo_id)
    if photo is None or not photo.thumbnail_key:
        return "skipped"
    store = get_store()
    try:
        image = decode_photo(store.read(photo.object_key, max_bytes=config["UPLOAD_MAX_BYTES"]))
    except BadPhoto:
        return "skipped"
    db.session.commit()  # no transaction held while the model runs
    generator = get_generator()
    cam, category = category_heatmap(generator.image_model, image)
    key = heatmap_key(config, photo_id)
    store.write(key, overlay_png(image, cam), "image/png")
    row = db.session.get(PhotoHeatmap, photo_id) or PhotoHeatmap(photo_id=photo_id)
    row.object_key, row.model_version, row.category, row.created_at = \
        key, generator.model_version, category, utcnow()
    db.session.add(row)
    db.session.commit()
    log.info("heatmap for photo %s stored (%s)", photo_id, category)
    return "stored"


def warm_up_heatmaps(generator) -> None:
    """Run Grad-CAM once on a blank image: its first call builds the probe model and traces the
    gradient (8.8 s against 0.9 s after, bench/embedded_batch.py), and a heatmap that has started
    cannot step aside, so a cold one would hold up the listings uploaded just after it."""
    category_heatmap(generator.image_model, Image.new("RGB", (64, 64), (200, 190, 180)))


def queue_heatmap(photo_id: int) -> None:
    """Ask for a heatmap if enabled; a failure to queue never fails the listing job."""
    if not current_app.config.get("HEATMAPS_ENABLED"):
        return
    try:
        store_heatmap.delay(photo_id)
    except Exception as exc:
        log.warning("heatmap for photo %s not queued: %s", photo_id, exc)
