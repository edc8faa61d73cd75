"""A listing's life outside review: delete it (with its photos), archive it, duplicate it.

Each is one function used by the artisan's pages and the bulk actions, so the rules hold
everywhere: nothing is removed while the worker is using it, a published listing leaves the
catalogue first (its own audit entry), and every change goes through the session's audit hook.
"""
from flask import current_app
from sqlalchemy import delete, select, update

from webapp import job_lifecycle
from webapp.audit import audit_as
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport, ListingDiff, ListingRating
from webapp.listings.workflow import WorkflowError, busy_job, latest_generated
from webapp.models import GeneratedListing, Photo, PhotoEmbedding, PhotoHeatmap, Product, new_id
from webapp.storage import copy_keys, get_store, object_key
from webapp.training_tables import TrainingItem


def unpublish(product: Product) -> bool:
    """Take an approved listing off the catalogue (back to draft); True if it was published."""
    if product.status != "approved":
        return False
    audit_as("product.unpublish")
    product.status = "draft"
    db.session.commit()
    return True


def stored_keys(product: Product) -> list[str]:
    """Every object in storage that belongs to the product: photos, thumbnails, heatmaps."""
    photo_ids = [p.id for p in product.photos]
    keys = [k for p in product.photos for k in (p.object_key, p.thumbnail_key) if k]
    if photo_ids:
        keys += db.session.scalars(select(PhotoHeatmap.object_key)
                                   .where(PhotoHeatmap.photo_id.in_(photo_ids))).all()
    return keys


def delete_product(product: Product) -> None:
    """Delete a listing: off the catalogue first, then its objects in storage, then its rows.

    Storage goes before the rows: if it is unreachable this raises with the rows intact, so
    deleting again later still knows which objects to remove. The feedback copies made for
    training are switched off (the artisan withdrew the piece), not kept learning from it.
    """
    if busy_job(product):
        raise WorkflowError("The listing is still being written; delete it once that is done.")
    unpublish(product)
    errors = get_store().delete_many(stored_keys(product))
    if errors:
        raise WorkflowError("Some photos could not be removed from storage; please try again.")
    pid = product.id
    photo_ids = [p.id for p in product.photos]
    job_ids = [j.id for j in product.jobs]
    for table in (ListingRating, ListingDiff, InaccuracyReport):
        db.session.execute(delete(table).where(table.product_id == pid))
    if photo_ids:
        for table in (PhotoHeatmap, PhotoEmbedding):
            db.session.execute(delete(table).where(table.photo_id.in_(photo_ids)))
    if job_ids:
        db.session.execute(delete(GeneratedListing).where(GeneratedListing.job_id.in_(job_ids)))
    db.session.execute(update(TrainingItem).where(TrainingItem.source == "feedback",
                                                  TrainingItem.source_id.like(f"product:{pid}:%"))
                       .values(active=False))
    for job in list(product.jobs):
        job_lifecycle.delete_job(job)
    db.session.flush()
    for photo in list(product.photos):
        db.session.delete(photo)
    db.session.flush()
    audit_as("product.delete")
    db.session.delete(product)
    db.session.commit()


def archive(product: Product) -> None:
    """Put a listing away: off the catalogue and out of review, kept with its photos."""
    if product.status == "archived":
        return
    if busy_job(product):
        raise WorkflowError("The listing is still being written; archive it once that is done.")
    unpublish(product)
    audit_as("product.archive")
    product.status = "archived"
    db.session.commit()


def unarchive(product: Product) -> None:
    if product.status != "archived":
        raise WorkflowError("This listing is not archived.")
    audit_as("product.unarchive")
    product.status = "draft"
    db.session.commit()


def duplicate(product: Product) -> Product:
    """A new draft with the same text, attributes and copies of the photos, for a similar piece.

    The photos are copied in storage (deleting one listing never breaks the other) and the
    generated text is copied with them, so the copy can be edited and submitted at once.
    """
    if busy_job(product):
        raise WorkflowError("The listing is still being written; duplicate it once that is done.")
    store = get_store()
    copy = Product(owner_id=product.owner_id, status="draft",
                   title=f"{product.title} (copy)"[:200] if product.title else None,
                   description=product.description, tags=list(product.tags or []),
                   attributes={k: dict(v) for k, v in (product.attributes or {}).items()},
                   edited_fields=list(product.edited_fields or []), tone=product.tone, length=product.length,
                   category=product.category, metal=product.metal, min_confidence=product.min_confidence)
    if copy.title:
        copy.edited_fields = sorted(set(copy.edited_fields) | {"title"})
    db.session.add(copy)
    photos = {}
    for photo in product.photos:
        if not photo.thumbnail_key:
            continue  # never processed: nothing usable to copy
        # Shaped like the worker's copies, never like an upload (which the reaper's sweep judges).
        thumb_key, clean_key, _ = copy_keys(object_key(current_app.config, product.owner_id, new_id() + ".jpg"))
        keys = {"object_key": clean_key, "thumbnail_key": thumb_key}
        for field in ("object_key", "thumbnail_key"):
            store.write(keys[field], store.read(getattr(photo, field)), "image/jpeg" if field == "thumbnail_key"
                        else photo.content_type)
        photos[photo.id] = Photo(product=copy, content_type=photo.content_type, size_bytes=photo.size_bytes,
                                 width=photo.width, height=photo.height,
                                 original_filename=photo.original_filename, **keys)
    db.session.add_all(photos.values())
    db.session.flush()
    for source_id, copied in photos.items():
        embedding = db.session.get(PhotoEmbedding, source_id)
        if embedding is not None:  # the copy is alike to the same pieces
            db.session.add(PhotoEmbedding(photo_id=copied.id, vector=embedding.vector,
                                          model_version=embedding.model_version))
    listing = latest_generated(product)
    if listing is not None and photos:
        first = photos.get(listing.job.photo_id) or next(iter(photos.values()))
        audit_as("product.duplicate")  # new_job flushes: the copy's creation is recorded under this name
        new_job = job_lifecycle.new_job(copy, first, "copy")
        db.session.add(GeneratedListing(job=new_job, attributes=listing.attributes, title=listing.title,
                                        description=listing.description, tags=listing.tags,
                                        model_version=listing.model_version,
                                        inference_ms=listing.inference_ms))
    audit_as("product.duplicate")
    db.session.commit()
    return copy
