"""`flask export merchant-feed` and `flask export shopify-csv`: the same files as the admin page."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.exports.listings import export_items
from webapp.exports.merchant_feed import merchant_feed
from webapp.exports.shopify_csv import shopify_csv

export_cli = AppGroup("export", help="Export approved listings for other marketplaces.")
BASE_URL = click.option("--base-url", required=True,
                        help="The site's public address, for the links in the file (https://shop.example).")
OUT = click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)


@export_cli.command("merchant-feed")
@BASE_URL
@OUT
def merchant_feed_command(base_url, out):
    """Google Merchant Center product feed (RSS 2.0 XML) of approved listings with a price."""
    with current_app.test_request_context(base_url=base_url):
        body, skipped = merchant_feed(export_items(), "Jewellery AI catalogue", base_url)
    out.write_bytes(body)
    for item in skipped:
        click.echo(f"left out #{item.product.id} {item.product.title!r}: no price or no photo", err=True)
    click.echo(f"{out}: {body.count(b'<item>')} listings")


@export_cli.command("shopify-csv")
@BASE_URL
@OUT
def shopify_csv_command(base_url, out):
    """Shopify product CSV (its import columns) of approved listings."""
    with current_app.test_request_context(base_url=base_url):
        items = export_items()
        out.write_bytes(shopify_csv(items))
    click.echo(f"{out}: {len(items)} listings")
