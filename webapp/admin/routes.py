"""The review queue: nothing is published until a person approves it here."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from webapp import taxonomy
from webapp.admin import bp
from webapp.admin.access import require_admin
from webapp.admin.forms import RejectForm
from webapp.extensions import db
from webapp.history_tables import AuditEvent, InaccuracyReport
from webapp.listings.merge import apply_edits, is_low_confidence, parse_tags, threshold
from webapp.listings.seller_facts import fact_rows
from webapp.listings.workflow import WorkflowError, approve, latest_generated, reject
from webapp.models import PhotoHeatmap, Product, User, utcnow
from webapp.products.forms import ActionForm, ListingForm
from webapp.storage import get_store

bp.before_request(require_admin)
STATUS_FILTERS = ("in_review", "reported", "rejected", "approved", "draft", "all")
PER_PAGE = 50


def open_reports():
    return (select(InaccuracyReport.product_id, func.count().label("n"))
            .where(InaccuracyReport.resolved_at.is_(None)).group_by(InaccuracyReport.product_id))


@bp.get("/")
def queue():
    status = request.args.get("status", "in_review")
    status = status if status in STATUS_FILTERS else "in_review"
    category = request.args.get("category", "")
    reports = open_reports().subquery()
    query = (select(Product, func.coalesce(reports.c.n, 0))
             .outerjoin(reports, reports.c.product_id == Product.id)
             .options(selectinload(Product.photos), selectinload(Product.owner)))
    if status == "reported":
        query = query.where(reports.c.n > 0)
    elif status != "all":
        query = query.where(Product.status == status)
    if taxonomy.current().knows("category", category):
        query = query.where(Product.category == category)
    # Lowest confidence first; listings with no attributes yet go last.
    query = query.order_by(Product.min_confidence.is_(None), Product.min_confidence.asc(),
                           Product.submitted_at.asc(), Product.id.asc()).limit(PER_PAGE)
    rows = db.session.execute(query).all()
    store = get_store()

    def thumb(product):
        photo = next((p for p in product.photos if p.thumbnail_key), None)
        return store.url(photo.thumbnail_key) if photo else None

    return render_template("admin/queue.html", rows=rows, status=status, category=category,
                           statuses=STATUS_FILTERS, categories=taxonomy.current().values("category"), thumb=thumb,
                           action_form=ActionForm())


@bp.post("/bulk-approve")
def bulk_approve():
    if not ActionForm().validate_on_submit():
        abort(400)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    approved = 0
    for product in db.session.scalars(select(Product).where(Product.id.in_(ids))).all():
        if product.status == "in_review" and product.title:
            try:
                approve(product, current_user)
            except WorkflowError:
                continue  # still being written: left in the queue
            approved += 1
    flash(f"Approved {approved} listing{'' if approved == 1 else 's'}.", "success")
    return redirect(url_for("admin.queue"))


@bp.get("/products/<int:product_id>")
def review(product_id):
    product = db.session.get(Product, product_id) or abort(404)
    store = get_store()
    form = ListingForm(formdata=None, title=product.title, description=product.description,
                       tags=", ".join(product.tags or []),
                       **{f"attr_{k}": v.get("value") for k, v in (product.attributes or {}).items()})
    reports = db.session.scalars(select(InaccuracyReport).where(InaccuracyReport.product_id == product.id)
                                 .order_by(InaccuracyReport.created_at.desc())).all()
    history = db.session.scalars(select(AuditEvent).where(AuditEvent.product_id == product.id)
                                 .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(50)).all()
    return render_template(
        "admin/review.html", product=product, form=form, reject_form=RejectForm(formdata=None),
        action_form=ActionForm(), generated=latest_generated(product), reports=reports,
        history=history, people=people_by_id(e.actor_id for e in history),
        images=[store.url(p.thumbnail_key) for p in product.photos if p.thumbnail_key],
        heatmaps=heatmaps_for(product, store), is_low=is_low_confidence, threshold=threshold(),
        duplicates=duplicates_for(product), fact_rows=fact_rows(product))


def duplicates_for(product) -> list[dict]:
    """Photos of this listing nearly the same as another artisan's published photo, with that listing."""
    from webapp.catalog.similar import possible_duplicates  # noqa: PLC0415  (lazy: usearch, 4 MB a web process, only on review pages)

    found = possible_duplicates(product)
    titles = dict(db.session.execute(select(Product.id, Product.title)
                                     .where(Product.id.in_({f["product_id"] for f in found}))).all()) if found else {}
    numbers = {p.id: n for n, p in enumerate(product.photos, 1)}
    return [dict(f, title=titles.get(f["product_id"]), photo_number=numbers.get(f["photo_id"])) for f in found]


def heatmaps_for(product, store) -> list[dict]:
    """Grad-CAM overlays the worker stored for the product's photos (workers/explain.py)."""
    ids = [p.id for p in product.photos]
    if not ids:
        return []
    rows = db.session.scalars(select(PhotoHeatmap).where(PhotoHeatmap.photo_id.in_(ids))
                              .order_by(PhotoHeatmap.photo_id)).all()
    return [{"url": store.url(h.object_key), "category": h.category, "model_version": h.model_version}
            for h in rows]


@bp.post("/products/<int:product_id>/approve")
def approve_product(product_id):
    """Approve as it is, or with the reviewer's edits when the listing form is sent."""
    product = db.session.get(Product, product_id) or abort(404)
    if "title" in request.form:
        form = ListingForm()
        if not form.validate_on_submit():
            flash("Please fix the listing before approving: " + "; ".join(
                f"{k}: {', '.join(v)}" for k, v in form.errors.items()), "error")
            return redirect(url_for("admin.review", product_id=product.id))
        apply_edits(product, form.title.data.strip(), (form.description.data or "").strip(),
                    parse_tags(form.tags.data),
                    {n: getattr(form, f"attr_{n}").data for n in taxonomy.current().names},
                    {n for n in taxonomy.current().names if getattr(form, f"confirm_{n}").data}, source="reviewer")
    elif not ActionForm().validate_on_submit():
        abort(400)
    try:
        approve(product, current_user)
    except WorkflowError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.review", product_id=product.id))
    flash(f"Published “{product.title}”.", "success")
    return redirect(url_for("admin.queue"))


@bp.post("/products/<int:product_id>/reject")
def reject_product(product_id):
    product = db.session.get(Product, product_id) or abort(404)
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Please give the artisan a reason.", "error")
        return redirect(url_for("admin.review", product_id=product.id))
    reject(product, current_user, form.reason.data)
    flash(f"Rejected “{product.title or 'draft'}”; the artisan sees your reason.", "success")
    return redirect(url_for("admin.queue"))


def mark_report(report_id: int, step: str, message: str):
    """Record who confirmed or resolved a report (``step``: "confirmed" or "resolved"), and when."""
    report = db.session.get(InaccuracyReport, report_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    setattr(report, f"{step}_at", utcnow())
    setattr(report, f"{step}_by_id", current_user.id)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.review", product_id=report.product_id))


@bp.post("/reports/<int:report_id>/confirm")
def confirm_report(report_id):
    """The admin agrees the listing is wrong: it stays out of training until the report is handled."""
    return mark_report(report_id, "confirmed",
                       "Report confirmed: this listing is kept out of training until the report is handled.")


@bp.post("/reports/<int:report_id>/resolve")
def resolve_report(report_id):
    return mark_report(report_id, "resolved", "Report marked as handled.")


def people_by_id(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())
