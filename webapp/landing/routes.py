"""The landing page at / and /favicon.ico.

Signed-in people go straight to their products; a stranger gets a page that says what the
tool does, for whom, shows a listing it wrote (the latest published one, or a fixed example
on a fresh install) and offers sign-up, with the catalogue one click away.
"""
from flask import redirect, render_template, url_for
from flask_login import current_user

from webapp.catalog.routes import published, thumbnails
from webapp.extensions import db
from webapp.landing import bp
from webapp.models import Product

# Shown until something is published: what a generated listing looks like, in the shape of one.
EXAMPLE = {
    "title": "Hammered sterling silver cuff with a turquoise cabochon",
    "description": ("A wide cuff bracelet in sterling silver, hammered by hand so the surface catches the "
                    "light, set with a single oval turquoise. Open at the back to slip on easily."),
    "facts": [("Category", "bracelet"), ("Metal", "silver"), ("Gemstone", "turquoise"),
              ("Style", "bohemian")],
    "tags": ["cuff", "sterling silver", "turquoise", "hammered", "handmade"],
}


def example_listing():
    """The latest published listing as the example, or the fixed one (with no photo)."""
    product = db.session.scalar(published().order_by(Product.reviewed_at.desc(), Product.id.desc()).limit(1))
    if product is None:
        return dict(EXAMPLE, image=None, url=None)
    facts = [(name.capitalize(), attr.get("value")) for name, attr in (product.attributes or {}).items()
             if attr.get("value") and attr.get("value") != "none"]
    images = thumbnails(product)
    return {"title": product.title, "description": product.description, "facts": facts,
            "tags": product.tags or [], "image": images[0] if images else None,
            "url": url_for("catalog.detail", product_id=product.id)}


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(url_for("products.index"))
    return render_template("landing/index.html", example=example_listing())


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)
