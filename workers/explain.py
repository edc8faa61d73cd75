"""Grad-CAM heatmaps for the admin review page, computed here and never in the web process.

Queued after a photo's listing is ready; the overlay PNG goes to object storage under
`<S3_PREFIX>heatmaps/` and a `PhotoHeatmap` row points the review page at it.
"""
import logging

from celery import shared_task
from flask import current_app

from webapp.extensions import db
from webapp.models import Photo, PhotoHeatmap, utcnow
from webapp.storage import get_store
from workers.models import get_generator
from workers.photos import BadPhoto, decode_photo

log = logging.getLogger(__name__)


def heatmap_key(config, photo_id: int) -> str:
    return f"{config.get('S3_PREFIX', '')}heatmaps/{photo_id}.png"


@shared_task(name="workers.explain.store_heatmap", ignore_result=True, acks_late=True)
def store_heatmap(photo_id: int) -> str:
    """Compute and store the category heatmap of one processed photo; running it twice overwrites."""
    from ml.gradcam import category_heatmap, overlay_png

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


def queue_heatmap(photo_id: int) -> None:
    """Ask for a heatmap if enabled; a failure to queue never fails the listing job."""
    if not current_app.config.get("HEATMAPS_ENABLED"):
        return
    try:
        store_heatmap.delay(photo_id)
    except Exception as exc:
        log.warning("heatmap for photo %s not queued: %s", photo_id, exc)
