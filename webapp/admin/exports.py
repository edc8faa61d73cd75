"""The exports page: the Google Merchant Center feed and the Shopify CSV of approved listings."""
from flask import Response, render_template, url_for

from webapp.admin import bp
from webapp.exports.listings import export_items
from webapp.exports.merchant_feed import merchant_feed
from webapp.exports.shopify_csv import shopify_csv


def feed_bytes() -> tuple[bytes, list]:
    return merchant_feed(export_items(), "Jewellery AI catalogue", url_for("catalog.index", _external=True))


@bp.get("/exports")
def exports():
    items = export_items()
    _, skipped = merchant_feed(items, "", "")
    return render_template("admin/exports.html", total=len(items), skipped=skipped)


@bp.get("/exports/google-merchant.xml")
def merchant_feed_file():
    body, _ = feed_bytes()
    return Response(body, mimetype="application/xml",
                    headers={"Content-Disposition": "attachment; filename=google-merchant-feed.xml"})


@bp.get("/exports/shopify.csv")
def shopify_file():
    return Response(shopify_csv(export_items()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=shopify-products.csv"})
