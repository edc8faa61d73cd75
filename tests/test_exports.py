"""Exports of approved listings: the Google Merchant Center feed and the Shopify CSV, checked
against each format's required fields; from the admin page and the CLI."""
import csv
import io
import re
from decimal import Decimal
from xml.etree import ElementTree as ET

from tests.factories import RESULT, ready_product
from tests.support import register
from webapp.exports.listings import export_items
from webapp.exports.merchant_feed import REQUIRED, G, merchant_feed
from webapp.exports.shopify_csv import COLUMNS, shopify_csv
from webapp.extensions import db
from webapp.models import Photo, Product, new_id


def set_price(app, pid, price="120", currency="EUR", quantity=None, sku=None):
    """The seller's facts, as the product page stores them."""
    with app.app_context():
        product = db.session.get(Product, pid)
        product.price, product.currency = Decimal(price), currency
        product.quantity, product.sku = quantity, sku
        db.session.commit()


def feed_problems(xml: bytes) -> list[str]:
    """What Merchant Center's product data specification would refuse in the feed."""
    problems = []
    root = ET.fromstring(xml)
    assert root.tag == "rss" and root.find("channel") is not None
    for item in root.iter("item"):
        values = {}
        for child in item:
            values.setdefault(child.tag.replace(f"{{{G}}}", ""), []).append((child.text or "").strip())
        ident = values.get("id", ["?"])[0]
        problems += [f"{ident}: no {name}" for name in REQUIRED if not values.get(name, [""])[0]]
        if not re.fullmatch(r"\d+\.\d{2} [A-Z]{3}", values.get("price", [""])[0]):
            problems.append(f"{ident}: price {values.get('price')}")
        if values.get("availability", [""])[0] not in ("in_stock", "out_of_stock", "preorder", "backorder"):
            problems.append(f"{ident}: availability")
        if values.get("condition", [""])[0] not in ("new", "refurbished", "used"):
            problems.append(f"{ident}: condition")
        for name in ("link", "image_link", "additional_image_link"):
            problems += [f"{ident}: {name} {url}" for url in values.get(name, []) if not url.startswith("http")]
        if len(ident) > 50 or len(values.get("title", [""])[0]) > 150:
            problems.append(f"{ident}: too long")
        if not values.get("google_product_category", [""])[0].startswith("Apparel & Accessories > Jewelry"):
            problems.append(f"{ident}: google_product_category")
    return problems


def shopify_problems(text: str) -> list[str]:
    """What Shopify's product import would refuse: its columns, a handle and title per product,
    a price on every active product, image rows that name their product."""
    reader = csv.DictReader(io.StringIO(text))
    problems = [] if tuple(reader.fieldnames) == COLUMNS else ["columns"]
    seen = set()
    for row in reader:
        if not row["Handle"] or not re.fullmatch(r"[a-z0-9-]+", row["Handle"]):
            problems.append(f"handle {row['Handle']!r}")
        if row["Handle"] in seen:
            if not row["Image Src"].startswith("http") or row["Title"]:
                problems.append(f"{row['Handle']}: image row")
            continue
        seen.add(row["Handle"])
        if not row["Title"]:
            problems.append(f"{row['Handle']}: no title")
        if row["Status"] not in ("active", "draft", "archived") or row["Published"] not in ("TRUE", "FALSE"):
            problems.append(f"{row['Handle']}: status")
        if row["Status"] == "active" and not re.fullmatch(r"\d+(\.\d{1,2})?", row["Variant Price"]):
            problems.append(f"{row['Handle']}: price {row['Variant Price']!r}")
    return problems


def two_listings(app, client) -> tuple[int, int]:
    register(client, "admin@example.com")
    with app.app_context():
        ring = ready_product("admin@example.com", status="approved",
                             result={**RESULT, "title": "Bague émeraude & or"})
        product = db.session.get(Product, ring)
        db.session.add(Photo(product=product, object_key=f"media/{new_id()}.jpg", content_type="image/jpeg",
                             thumbnail_key=f"media/{new_id()}.t.jpg"))
        db.session.commit()
        draft = ready_product("admin@example.com", result={**RESULT, "title": "Not approved"})
    return ring, draft


def test_merchant_feed_of_priced_listings_has_every_required_field(app, client):
    ring, draft = two_listings(app, client)
    set_price(app, ring, sku="BAG-01")
    set_price(app, draft)
    with app.test_request_context(base_url="https://shop.example"):
        xml, skipped = merchant_feed(export_items(), "Catalogue", "https://shop.example/catalogue/")
    assert skipped == [] and xml.count(b"<item>") == 1  # the draft is never exported
    assert feed_problems(xml) == []
    item = ET.fromstring(xml).find("channel/item")
    get = {c.tag.replace(f"{{{G}}}", ""): c.text for c in item}
    assert get["id"] == str(ring) and get["title"] == "Bague émeraude & or" and get["price"] == "120.00 EUR"
    assert get["link"] == f"https://shop.example/catalogue/{ring}"
    assert get["image_link"] == f"https://shop.example/catalogue/{ring}/photos/1.jpg"
    assert get["additional_image_link"].endswith("/photos/2.jpg")
    assert get["google_product_category"] == "Apparel & Accessories > Jewelry > Rings"
    assert get["material"] == "gold" and get["color"] == "gold-tone" and get["condition"] == "new"
    assert get["availability"] == "in_stock" and get["mpn"] == "BAG-01" and "identifier_exists" not in get


def test_a_piece_out_of_stock_is_exported_as_out_of_stock(app, client):
    ring, _ = two_listings(app, client)
    set_price(app, ring, quantity=0)
    xml = client.get("/admin/exports/google-merchant.xml").data
    assert feed_problems(xml) == [] and b"<g:availability>out_of_stock</g:availability>" in xml
    assert b"<g:identifier_exists>no</g:identifier_exists>" in xml  # handmade, no SKU given


def test_a_listing_without_a_price_is_left_out_of_the_feed_and_named(app, client):
    ring, _ = two_listings(app, client)
    xml = client.get("/admin/exports/google-merchant.xml").data
    assert b"<item>" not in xml and feed_problems(xml) == []  # nothing invented
    page = client.get("/admin/exports").get_data(as_text=True)
    assert "Bague émeraude &amp; or" in page and "no price" in page


def test_photo_links_in_exports_redirect_to_the_stored_copy(app, client):
    ring, draft = two_listings(app, client)
    response = client.get(f"/catalogue/{ring}/photos/1.jpg")
    assert response.status_code == 302 and ".jpg" in response.headers["Location"]
    assert client.get(f"/catalogue/{ring}/photos/3.jpg").status_code == 404
    assert client.get(f"/catalogue/{draft}/photos/1.jpg").status_code == 404  # not published


def test_shopify_csv_has_its_import_columns_and_a_row_per_image(app, client):
    ring, _ = two_listings(app, client)
    text = client.get("/admin/exports/shopify.csv").get_data(as_text=True)
    assert shopify_problems(text) == []
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 2 and rows[0]["Handle"] == f"bague-emeraude-or-{ring}" == rows[1]["Handle"]
    assert rows[0]["Status"] == "draft" and rows[0]["Variant Price"] == ""  # unpriced: the seller prices it
    assert rows[0]["Vendor"].startswith("Artisan #") and rows[0]["Tags"] == "ring, gold, ruby"
    assert rows[1]["Image Position"] == "2" and rows[1]["Title"] == ""
    set_price(app, ring, price="49.9", quantity=3, sku="BAG-01")
    with app.test_request_context(base_url="https://shop.example"):
        priced = shopify_csv(export_items())
    first = next(csv.DictReader(io.StringIO(priced.decode())))
    assert first["Status"] == "active" and first["Variant Price"] == "49.90"
    assert first["Variant SKU"] == "BAG-01" and first["Variant Inventory Qty"] == "3"
    assert shopify_problems(priced.decode()) == []


def test_exports_from_the_cli(app, client, tmp_path):
    ring, _ = two_listings(app, client)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["export", "shopify-csv", "--base-url", "https://shop.example",
                                 "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s.csv").read_text()
    assert shopify_problems(text) == [] and f"https://shop.example/catalogue/{ring}/photos/1.jpg" in text
    result = runner.invoke(args=["export", "merchant-feed", "--base-url", "https://shop.example",
                                 "--out", str(tmp_path / "f.xml")])
    assert result.exit_code == 0 and "no price" in result.output
    assert feed_problems((tmp_path / "f.xml").read_bytes()) == []


def test_exports_are_for_admins_only(app, client):
    two_listings(app, client)
    other = app.test_client()
    register(other, "maker@example.com")
    assert other.get("/admin/exports/shopify.csv").status_code in (403, 404)
