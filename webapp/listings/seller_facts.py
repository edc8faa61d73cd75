"""The seller's facts: fields only a person fills (price, stock, measures, how and where it was made).

The describer never invents these; it weaves in the ones given, word for word
(ml/grounding.py). One home for what a valid value is, used by the product page and the API.
"""
from decimal import Decimal, InvalidOperation

# Free text the description may quote, with each field's limit.
TEXT_FACTS = {"size": 120, "weight": 60, "materials": 200, "technique": 120, "origin": 120, "care": 300,
              "story": 500}
FIELDS = ("price", "currency", "quantity", "sku", *TEXT_FACTS)
LABELS = {"price": "Price", "currency": "Currency (e.g. EUR)", "quantity": "Quantity in stock", "sku": "SKU",
          "size": "Size or dimensions", "weight": "Weight", "materials": "Materials, in your words",
          "technique": "Technique (e.g. hand-forged)", "origin": "Made in", "care": "Care",
          "story": "A short note: the story of the piece"}
PRICE_MAX = Decimal("1000000")


class FactError(ValueError):
    """A seller's fact that cannot be stored; the message says which and why."""


def clean_facts(data: dict, current: dict | None = None) -> dict:
    """Valid values for the facts in ``data`` (``None`` clears one); ``current`` fills those not sent."""
    out = dict(current or {})
    for name in FIELDS:
        if name not in data:
            continue
        raw = data[name]
        value = None if raw is None else " ".join(str(raw).split())
        out[name] = _clean(name, value) if value else None
    if (out.get("price") is None) != (not out.get("currency")):
        raise FactError("Give a price and its currency together (or neither).")
    return out


def _clean(name: str, value: str):
    if name == "price":
        try:
            price = Decimal(value.replace(",", "."))
        except InvalidOperation:
            raise FactError("Price must be a number, e.g. 120 or 49.90.") from None
        if not (0 <= price < PRICE_MAX) or price.as_tuple().exponent < -2:
            raise FactError("Price must be between 0 and 999999.99, with at most two decimals.")
        return price
    if name == "currency":
        if len(value) != 3 or not value.isalpha():
            raise FactError("Currency is a three-letter code such as EUR, GBP or USD.")
        return value.upper()
    if name == "quantity":
        if not value.isdigit() or int(value) > 100000:
            raise FactError("Quantity is a whole number from 0 to 100000.")
        return int(value)
    limit = 64 if name == "sku" else TEXT_FACTS[name]
    if len(value) > limit:
        raise FactError(f"{LABELS[name]}: at most {limit} characters.")
    return value


def current_facts(product) -> dict:
    return {name: getattr(product, name) for name in FIELDS}


def apply_facts(product, cleaned: dict) -> list[str]:
    """Store cleaned facts on the product; return the names that changed."""
    changed = []
    for name in FIELDS:
        if name in cleaned and cleaned[name] != getattr(product, name):
            setattr(product, name, cleaned[name])
            changed.append(name)
    return changed


def words_for_description(product) -> dict[str, str]:
    """The free-text facts the description may quote, as the seller wrote them (empty ones left out)."""
    return {name: str(value).strip() for name in TEXT_FACTS
            if (value := getattr(product, name, None)) and str(value).strip()}


def facts_out(product) -> dict:
    """The facts as JSON: price as a string with two decimals, the rest as stored."""
    data = current_facts(product)
    if data["price"] is not None:
        data["price"] = f"{Decimal(str(data['price'])):.2f}"
    return data


PUBLIC_LABELS = {"materials": "Materials", "technique": "Technique", "origin": "Made in", "size": "Size",
                 "weight": "Weight", "care": "Care", "story": "The story", "quantity": "In stock", "sku": "SKU"}


def fact_rows(product, public: bool = False) -> list[tuple[str, str]]:
    """(label, value) for each fact given; the public page shows the price on its own line."""
    data = facts_out(product)
    rows = [] if public or data["price"] is None else [("Price", f"{data['price']} {data['currency']}")]
    return rows + [(PUBLIC_LABELS[name], str(data[name])) for name in PUBLIC_LABELS if data[name] not in (None, "")]
