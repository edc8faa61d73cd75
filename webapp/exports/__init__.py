"""Approved listings exported to where sellers already sell: a Google Merchant Center product
feed and a Shopify product CSV, from the admin pages and `flask export ...`."""
