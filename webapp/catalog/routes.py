"""Catalogue pages for customers. Only approved listings are ever shown here."""
import hashlib
import hmac

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_limiter.util import get_remote_address
from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only

from webapp import taxonomy
from webapp.bounds import page_number
from webapp.catalog import bp, page_cache
from webapp.catalog.forms import ReportForm
from webapp.catalog.structured_data import open_graph, product_json_ld
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport
from webapp.limits import by_address, rate_limit
from webapp.listings.offer import listing_offer
from webapp.listings.seller_facts import fact_rows
from webapp.models import Photo, Product, User
from webapp.storage import get_store

PER_PAGE = 24


def published():
    return select(Product).where(Product.status == "approved")


def thumbnails(product) -> list[str]:
    store = get_store()
    return [store.url(p.thumbnail_key) for p in product.photos if p.thumbnail_key]


def first_thumbnail():
    """The thumbnail of a product's first photo that has one, as a column of the product's row."""
    return (select(Photo.thumbnail_key).where(Photo.product_id == Product.id, Photo.thumbnail_key.is_not(None))
            .order_by(Photo.id).limit(1).correlate(Product).scalar_subquery())


@bp.get("/")
def index():
    category = request.args.get("category", "")
    metal = request.args.get("metal", "")
    q = " ".join(request.args.get("q", "").split())[:100]
    page = page_number()
    if not page_cache.cacheable():
        return render_index(category, metal, page, q)
    tax = taxonomy.current()
    key = (category if tax.knows("category", category) else "", metal if tax.knows("metal", metal) else "", page, q)
    version = page_cache.catalogue_version()
    html = page_cache.cached_page(key, version)
    if html is None:
        html = render_index(*key)
        page_cache.store_page(key, version, html)
    return html


def matching(query, q: str):
    """Listings whose title, description or tags contain every word of the search.

    A LIKE per word: the catalogue is small enough (hundreds to a few thousand pieces) for a
    scan of the approved rows; a FULLTEXT index is the next step if it grows.
    """
    for word in q.split()[:8]:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Product.title.like(pattern), Product.description.like(pattern),
                                cast(Product.tags, Text).like(pattern)))
    return query


def render_index(category, metal, page, q="") -> str:
    query = matching(published(), q)
    tax = taxonomy.current()
    if tax.knows("category", category):
        query = query.where(Product.category == category)
    if tax.knows("metal", metal):
        query = query.where(Product.metal == metal)
    # One query for the page: the tiles' columns, each tile's thumbnail and the total count.
    rows = db.session.execute(
        query.options(load_only(Product.title, Product.category, Product.metal))
        .add_columns(first_thumbnail(), func.count().over())
        .order_by(Product.reviewed_at.desc(), Product.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    if rows:
        total = rows[0][2]
    else:  # an empty page: the count still says whether other pages have listings
        total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    store = get_store()
    tiles = [(product, store.url(thumb) if thumb else None) for product, thumb, _ in rows]
    return render_template("catalog/index.html", tiles=tiles, q=q,
                           categories=tax.values("category"), metals=tax.values("metal"),
                           category=category, metal=metal,
                           page=page, pages=max(1, -(-total // PER_PAGE)), total=total)


def detail_context(product, form) -> dict:
    """Everything the public listing page shows: photos, price, shop, structured data."""
    store = get_store()
    photos = [(store.url(p.object_key), store.url(p.thumbnail_key)) for p in product.photos if p.thumbnail_key]
    offer = listing_offer(product)
    # Search engines and previews fetch later: stable links, not the page's expiring ones.
    images = [url_for("catalog.photo", product_id=product.id, number=n, _external=True)
              for n in range(1, len(photos) + 1)]
    return {"product": product, "photos": photos, "offer": offer, "form": form,
            "json_ld": product_json_ld(product, images, offer), "open_graph": open_graph(product, images, offer),
            "more": more_like_this(product), "fact_rows": fact_rows(product, public=True)}


def more_like_this(product, limit: int = 4) -> list:
    """Other published pieces whose photos look most like this one's (image embeddings)."""
    from webapp.catalog.similar import similar_products  # noqa: PLC0415  (lazy: usearch, 4 MB a web process, only on listing pages)

    store = get_store()
    return [(p, store.url(thumb) if thumb else None) for p, thumb in similar_products(product, limit)]


@bp.get("/<int:product_id>")
def detail(product_id):
    product = db.session.scalar(published().where(Product.id == product_id))
    if product is None:
        abort(404)
    return render_template("catalog/detail.html", **detail_context(product, ReportForm(formdata=None)))


@bp.get("/<int:product_id>/photos/<int:number>.jpg")
def photo(product_id, number):
    """A stable public link to a published listing's photo (feeds, structured data, previews):
    it redirects to a short-lived signed URL of the stored copy."""
    product = db.session.scalar(published().where(Product.id == product_id))
    photos = [p for p in product.photos if p.thumbnail_key] if product is not None else []
    if not 1 <= number <= len(photos):
        abort(404)
    return redirect(get_store().url(photos[number - 1].object_key), code=302)


@bp.get("/shop/<int:owner_id>")
def shop(owner_id):
    """An artisan's shop page: their name and their published pieces."""
    owner = db.session.get(User, owner_id)
    if owner is None:
        abort(404)
    rows = db.session.execute(published().where(Product.owner_id == owner_id)
                              .add_columns(first_thumbnail())
                              .order_by(Product.reviewed_at.desc(), Product.id.desc()).limit(200)).all()
    store = get_store()
    return render_template("catalog/shop.html", owner=owner,
                           tiles=[(p, store.url(t) if t else None) for p, t in rows])


def reporter_id() -> str:
    """The visitor, as a keyed hash of their address (no address is stored)."""
    key = current_app.secret_key.encode() if isinstance(current_app.secret_key, str) else current_app.secret_key
    return hmac.new(key, f"reporter:{get_remote_address()}".encode(), hashlib.sha256).hexdigest()


@bp.post("/<int:product_id>/report")
@rate_limit("RATELIMIT_REPORT", by_address)
def report(product_id):
    product = db.session.scalar(published().where(Product.id == product_id))
    if product is None:
        abort(404)
    form = ReportForm()
    if not form.validate_on_submit():
        return render_template("catalog/detail.html", **detail_context(product, form)), 400
    db.session.add(InaccuracyReport(product_id=product.id, message=form.message.data.strip(),
                                    email=(form.email.data or "").strip().lower() or None,
                                    reporter=reporter_id()))
    try:
        db.session.commit()
    except IntegrityError:  # this visitor already reported this listing (unique per visitor)
        db.session.rollback()
        flash("You have already reported this listing; a person on our team will look at it.", "info")
        return redirect(url_for("catalog.detail", product_id=product.id))
    flash("Thank you. A person on our team will look at this listing.", "success")
    return redirect(url_for("catalog.detail", product_id=product.id))
