"""Attribute values a person states (before upload, in a bulk edit): facts, never the model's guess.

A fact is stored the way the shared contract describes a person's value: source "artisan"
(or "reviewer"), and its name in the product's edited fields, so generation never overwrites
it (listings/merge.py keeps edited fields) and pages show "set by you" instead of a score.
"""
from webapp import taxonomy
from webapp.listings.merge import attribute_field, sync_summary


class UnknownValue(ValueError):
    """An attribute or value outside the taxonomy; the message is shown to the person."""


def checked_facts(values: dict) -> dict[str, str]:
    """The non-empty {attribute: value} pairs, each checked against the taxonomy."""
    facts, attributes = {}, taxonomy.current().attributes
    for name, value in (values or {}).items():
        value = str(value or "").strip()
        if not value:
            continue
        if name not in attributes:
            raise UnknownValue(f"There is no attribute called {name!r}.")
        if value not in attributes[name]:
            raise UnknownValue(f"{value!r} is not a {name} we know; pick one from the list.")
        facts[name] = value
    return facts


def set_facts(product, facts: dict[str, str], source: str = "artisan") -> list[str]:
    """Write checked facts on the product; return the fields that changed."""
    attributes = {k: dict(v) for k, v in (product.attributes or {}).items()}
    changed = []
    for name, value in facts.items():
        current = attributes.get(name) or {}
        if current.get("value") == value and current.get("source") == source:
            continue
        attributes[name] = {"value": value, "confidence": 1.0, "confirmed": True, "source": source,
                            "flagged": False}
        changed.append(attribute_field(name))
    if changed:
        product.attributes = attributes
        product.edited_fields = sorted(set(product.edited_fields or []) | set(changed))
        sync_summary(product)
    return changed


def is_fact(attr: dict) -> bool:
    return (attr or {}).get("source") in ("artisan", "reviewer")
