"""A Google Merchant Center product feed (RSS 2.0 with the g: namespace) of approved listings.

Attributes from the product data specification: id, title, description, link, image_link
(additional_image_link for the rest), price, availability, condition, google_product_category,
brand, material, color. A listing without a price cannot be offered, so it is left out and named
in the returned list of skipped listings instead of being sent with a made-up price.
"""
from xml.etree import ElementTree as ET

from webapp.exports.listings import ExportItem

G = "http://base.google.com/ns/1.0"
REQUIRED = ("id", "title", "description", "link", "image_link", "price", "availability", "condition")
JEWELRY = "Apparel & Accessories > Jewelry"
# Our categories in Google's product taxonomy; the rest go under Jewelry itself.
GOOGLE_CATEGORY = {"ring": "Rings", "earrings": "Earrings", "necklace": "Necklaces", "pendant": "Charms & Pendants",
                   "charm": "Charms & Pendants", "bracelet": "Bracelets", "brooch": "Brooches & Lapel Pins",
                   "watch": "Watches", "anklet": "Anklets"}
TITLE_MAX, DESCRIPTION_MAX, ADDITIONAL_IMAGES_MAX = 150, 5000, 10


def google_category(category: str | None) -> str:
    sub = GOOGLE_CATEGORY.get(category or "")
    return f"{JEWELRY} > {sub}" if sub else JEWELRY


def item_fields(item: ExportItem) -> dict | None:
    """The feed's fields for one listing, or None when it cannot be listed (no price or photo)."""
    product = item.product
    if item.offer is None or not item.images:
        return None
    fields = {"id": str(product.id), "title": (product.title or "")[:TITLE_MAX],
              "description": (product.description or product.title or "")[:DESCRIPTION_MAX],
              "link": item.link, "image_link": item.images[0],
              "additional_image_link": item.images[1:1 + ADDITIONAL_IMAGES_MAX],
              "price": f"{item.offer['price']} {item.offer['currency']}",
              "availability": "in_stock" if item.offer["in_stock"] else "out_of_stock", "condition": "new",
              "google_product_category": google_category(item.value("category")),
              "brand": product.owner.display_shop_name, "mpn": product.sku,
              # Handmade pieces have no GTIN; without the seller's SKU, say there is no identifier.
              "identifier_exists": None if product.sku else "no",
              "material": item.value("metal"), "color": item.value("colour")}
    return {k: v for k, v in fields.items() if v}


def merchant_feed(items: list[ExportItem], title: str, link: str) -> tuple[bytes, list[ExportItem]]:
    """(the feed as UTF-8 XML, the listings left out because they have no price or photo)."""
    ET.register_namespace("g", G)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = title
    ET.SubElement(channel, "link").text = link
    ET.SubElement(channel, "description").text = "Handmade jewellery, each listing checked by a person."
    skipped = []
    for item in items:
        fields = item_fields(item)
        if fields is None:
            skipped.append(item)
            continue
        entry = ET.SubElement(channel, "item")
        for name, value in fields.items():
            for one in value if isinstance(value, list) else [value]:
                ET.SubElement(entry, f"{{{G}}}{name}").text = one
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True), skipped
