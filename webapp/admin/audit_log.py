"""The audit log page: every recorded state change, newest first."""
import json

from flask import abort, render_template, request
from sqlalchemy import func, select

from webapp.admin import bp
from webapp.admin.routes import people_by_id
from webapp.bounds import MAX_ID, page_number
from webapp.extensions import db
from webapp.history_tables import AuditEvent

PER_PAGE = 100


@bp.app_template_filter("plain_json")
def plain_json(value) -> str:
    """A value as JSON for people to read: "&" and "é" as themselves (the page escapes the HTML).

    Jinja's `tojson` writes "&" as "\\u0026", which is right inside a <script> and wrong in a table.
    """
    return json.dumps(value, ensure_ascii=False, default=str)


@bp.get("/audit")
def audit():
    product_id = request.args.get("product", type=int)
    if product_id is not None and not 0 < product_id <= MAX_ID:
        abort(404)
    page = page_number()
    query = select(AuditEvent)
    if product_id:
        query = query.where(AuditEvent.product_id == product_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                                .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("admin/audit.html", events=events, people=people_by_id(e.actor_id for e in events),
                           product_id=product_id, page=page, pages=max(1, -(-total // PER_PAGE)))
