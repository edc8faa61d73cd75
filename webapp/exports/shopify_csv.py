"""A Shopify product CSV (the columns of Shopify's product import template) of approved listings.

One row per product with its first image, then one row per further image carrying only the
Handle, Image Src and Image Position, as Shopify's importer expects. A listing without a price
is imported as a draft with the price empty, for the seller to price in Shopify.
"""
import csv
import io
import re
import unicodedata

from markupsafe import escape

from webapp.exports.listings import ExportItem

COLUMNS = ("Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
           "Option1 Name", "Option1 Value", "Variant SKU", "Variant Grams", "Variant Inventory Tracker",
           "Variant Inventory Qty", "Variant Inventory Policy", "Variant Fulfillment Service", "Variant Price",
           "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable", "Variant Barcode",
           "Image Src", "Image Position", "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
           "Status")
# Shopify's standard product taxonomy, for the categories it has.
SHOPIFY_CATEGORY = {"ring": "Apparel & Accessories > Jewelry > Rings",
                    "earrings": "Apparel & Accessories > Jewelry > Earrings",
                    "necklace": "Apparel & Accessories > Jewelry > Necklaces",
                    "bracelet": "Apparel & Accessories > Jewelry > Bracelets",
                    "brooch": "Apparel & Accessories > Jewelry > Brooches & Lapel Pins",
                    "pendant": "Apparel & Accessories > Jewelry > Charms & Pendants",
                    "charm": "Apparel & Accessories > Jewelry > Charms & Pendants",
                    "watch": "Apparel & Accessories > Jewelry > Watches",
                    "anklet": "Apparel & Accessories > Jewelry > Anklets"}


def handle(item: ExportItem) -> str:
    """Shopify's URL handle: lower-case ASCII words joined by hyphens, unique by the listing id."""
    text = unicodedata.normalize("NFKD", item.product.title or "").encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]
    return f"{words}-{item.product.id}" if words else f"listing-{item.product.id}"


def body_html(product) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in (product.description or "").split("\n\n") if p.strip())


def rows(item: ExportItem) -> list[dict]:
    product, offer = item.product, item.offer
    first = {
        "Handle": handle(item), "Title": product.title, "Body (HTML)": body_html(product),
        "Vendor": product.owner.display_shop_name,
        "Product Category": SHOPIFY_CATEGORY.get(item.value("category") or "", "Apparel & Accessories > Jewelry"),
        "Type": (item.value("category") or "jewellery").capitalize(), "Tags": ", ".join(product.tags or []),
        "Published": "TRUE" if offer else "FALSE", "Option1 Name": "Title", "Option1 Value": "Default Title",
        "Variant SKU": product.sku or f"JAI-{product.id}",
        "Variant Inventory Qty": str(product.quantity if product.quantity is not None else 1),
        "Variant Inventory Policy": "deny",
        "Variant Fulfillment Service": "manual", "Variant Price": offer["price"] if offer else "",
        "Variant Requires Shipping": "TRUE", "Variant Taxable": "TRUE",
        "Image Src": item.images[0] if item.images else "", "Image Position": "1" if item.images else "",
        "Image Alt Text": product.title, "Gift Card": "FALSE", "SEO Title": (product.title or "")[:70],
        "SEO Description": (product.description or "")[:320], "Status": "active" if offer else "draft"}
    extra = [{"Handle": first["Handle"], "Image Src": url, "Image Position": str(n),
              "Image Alt Text": f"{product.title}, photo {n}"} for n, url in enumerate(item.images[1:], 2)]
    return [first, *extra]


def shopify_csv(items: list[ExportItem]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    for item in items:
        writer.writerows(rows(item))
    return out.getvalue().encode("utf-8")
