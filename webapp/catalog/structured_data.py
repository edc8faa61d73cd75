"""What search engines and social previews read on a public listing: schema.org Product JSON-LD
and Open Graph tags, built from the same approved listing the page shows."""
from flask import url_for


def attribute(product, name: str) -> str | None:
    value = ((product.attributes or {}).get(name) or {}).get("value")
    return value if value and value != "none" else None


def product_json_ld(product, images: list[str], offer: dict | None = None) -> dict:
    """A schema.org Product (https://schema.org/Product) for an approved listing.

    `offer` ({"price": "120.00", "currency": "EUR"}) is added only when the artisan gave a
    price: a made-up or empty offer is worse than none for a search engine.
    """
    url = url_for("catalog.detail", product_id=product.id, _external=True)
    data = {"@context": "https://schema.org", "@type": "Product", "@id": url, "url": url,
            "name": product.title, "description": product.description or "", "image": images,
            "sku": product.sku or str(product.id),
            "brand": {"@type": "Brand", "name": product.owner.display_shop_name},
            "category": attribute(product, "category"),
            "material": attribute(product, "metal"), "color": attribute(product, "colour"),
            "keywords": ", ".join(product.tags or [])}
    if offer:
        data["offers"] = {"@type": "Offer", "url": url, "price": offer["price"],
                          "priceCurrency": offer["currency"],
                          "availability": "https://schema.org/" + ("InStock" if offer["in_stock"] else "OutOfStock"),
                          "itemCondition": "https://schema.org/NewCondition",
                          "seller": {"@type": "Organization", "name": product.owner.display_shop_name}}
    return {k: v for k, v in data.items() if v not in (None, "", [])}


def open_graph(product, images: list[str], offer: dict | None = None) -> list[tuple[str, str]]:
    """(property, content) pairs for <meta property=...> in the page's head."""
    tags = [("og:type", "product"), ("og:title", product.title or ""),
            ("og:description", (product.description or "")[:300]),
            ("og:url", url_for("catalog.detail", product_id=product.id, _external=True)),
            ("og:site_name", "Jewellery AI")]
    tags += [("og:image", url) for url in images[:4]]
    if offer:
        tags += [("product:price:amount", offer["price"]), ("product:price:currency", offer["currency"])]
    return tags
