"""Rows in the state the worker leaves them, for tests of what people do next.

Tests that prove the worker itself does this use the real worker (test_end_to_end,
test_regeneration, test_browser); these factories only save time elsewhere.
"""
from sqlalchemy import select

from webapp.extensions import db
from webapp.listings.merge import apply_generated
from webapp.models import GeneratedListing, Job, Photo, Product, User, new_id, utcnow

RESULT = {
    "title": "Gold ring with a ruby",
    "description": "A handmade gold ring set with a deep red ruby. It is polished by hand.",
    "tags": ["ring", "gold", "ruby"],
    "attributes": {"category": {"value": "ring", "confidence": 0.93},
                   "metal": {"value": "gold", "confidence": 0.41},
                   "gemstone": {"value": "ruby", "confidence": 0.88},
                   "style": {"value": "classic", "confidence": 0.72},
                   "colour": {"value": "gold-tone", "confidence": 0.55}},
    "model_version": "test-1",
}


def user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def ready_product(owner_email: str, result: dict | None = None, status: str = "draft") -> int:
    """A product whose first photo has been processed into `result`; returns its id."""
    result = result or RESULT
    owner = db.session.scalar(select(User).where(User.email == owner_email))
    product = Product(owner=owner, status=status)
    photo = Photo(product=product, object_key=f"media/uploads/{owner.id}/{new_id()}.jpg",
                  content_type="image/jpeg", size_bytes=1000, width=320, height=320,
                  thumbnail_key=f"media/uploads/{owner.id}/{new_id()}.thumb.jpg")
    job = Job(product=product, photo=photo, state="ready", queued_at=utcnow(), finished_at=utcnow())
    db.session.add_all([product, photo, job])
    db.session.flush()
    db.session.add(GeneratedListing(job=job, attributes=result["attributes"], title=result["title"],
                                    description=result["description"], tags=result["tags"],
                                    model_version=result["model_version"]))
    apply_generated(job, result)
    db.session.commit()
    return product.id
