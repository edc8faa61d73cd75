"""The approved listings an export carries, with what every format needs from each of them."""
from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.catalog.structured_data import attribute
from webapp.extensions import db
from webapp.listings.offer import listing_offer
from webapp.models import Product


@dataclass
class ExportItem:
    product: Product
    link: str
    images: list[str]
    offer: dict | None

    def value(self, name: str) -> str | None:
        return attribute(self.product, name)


def photo_links(product) -> list[str]:
    """Stable public links to the listing's photos (each redirects to a fresh signed URL)."""
    count = sum(1 for photo in product.photos if photo.thumbnail_key)  # numbered as catalog.photo does
    return [url_for("catalog.photo", product_id=product.id, number=n, _external=True) for n in range(1, count + 1)]


def export_items() -> list[ExportItem]:
    """Every approved listing, oldest first (a stable order for people comparing two exports)."""
    products = db.session.scalars(select(Product).where(Product.status == "approved")
                                  .options(selectinload(Product.photos), selectinload(Product.owner))
                                  .order_by(Product.id)).all()
    return [ExportItem(p, url_for("catalog.detail", product_id=p.id, _external=True), photo_links(p),
                       listing_offer(p)) for p in products]
