"""The artisan's price for a listing, in the one shape the public page, JSON-LD and exports use."""
from decimal import Decimal


def listing_offer(product) -> dict | None:
    """{"price": "120.00", "currency": "EUR"} from the seller's own price fields, or None.

    The price and currency columns belong to the seller's facts (added with their own
    migration and forms); until a product has both, it has no offer, and nothing is invented.
    """
    price, currency = getattr(product, "price", None), getattr(product, "currency", None)
    if price is None or not currency:
        return None
    return {"price": f"{Decimal(str(price)):.2f}", "currency": str(currency).upper()}
