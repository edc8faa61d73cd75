"""The artisan's price for a listing, in the one shape the public page, JSON-LD and exports use."""
from decimal import Decimal


def listing_offer(product) -> dict | None:
    """{"price": "120.00", "currency": "EUR", "in_stock": bool} from the seller's facts, or None.

    Only a person sets a price (webapp/listings/seller_facts.py); without one there is no offer,
    and nothing is invented. An unknown quantity counts as in stock (a one-off piece for sale).
    """
    if product.price is None or not product.currency:
        return None
    return {"price": f"{Decimal(str(product.price)):.2f}", "currency": product.currency.upper(),
            "in_stock": product.quantity is None or product.quantity > 0}
