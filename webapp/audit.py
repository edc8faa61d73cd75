"""The audit log of products, written from a session hook so no change can forget to record itself.

Every flush that creates, changes or deletes a product adds an `AuditEvent` with the acting
person (None when the worker or the system acts) and the old and new value of each tracked
field. Callers may name the action with `audit_as`. A job's state changes are recorded by
webapp/job_lifecycle.py, the one module that makes them (a bulk UPDATE included).
"""
from flask import g, has_request_context
from flask_login import current_user
from flask_sqlalchemy.session import Session
from sqlalchemy import event, inspect

from webapp.history_tables import AuditEvent
from webapp.models import Product

PRODUCT_FIELDS = ("status", "title", "description", "tags", "attributes", "rejection_reason",
                  "tone", "length")
_TEXT_LIMIT = 2000


def audit_as(action: str) -> None:
    """Name the action that the next flush in this request records (e.g. "approve")."""
    if has_request_context():
        g.audit_action = action


def current_actor_id():
    """The person acting in this request: an API token's owner or the signed-in user."""
    if not has_request_context():
        return None
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user.id
    try:
        return current_user.id if current_user.is_authenticated else None
    except Exception:  # outside a login-managed request
        return None


def _clip(value):
    if isinstance(value, str) and len(value) > _TEXT_LIMIT:
        return value[:_TEXT_LIMIT] + "…"
    return value


def _changes(obj, fields) -> dict:
    state = inspect(obj)
    out = {}
    for name in fields:
        history = state.attrs[name].history
        if history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                out[name] = [_clip(old), _clip(new)]
    return out


@event.listens_for(Session, "after_flush")
def _collect(session, _flush_context):
    # Here ids are assigned and attribute history still shows what this flush changed.
    actor = current_actor_id()
    named = g.pop("audit_action", None) if has_request_context() else None
    events = session.info.setdefault("pending_audit", [])
    for obj in session.new:
        if isinstance(obj, Product):
            events.append(AuditEvent(actor_id=actor, product_id=obj.id,
                                     action=named or "product.create",
                                     changes={"status": [None, obj.status]}))
    for obj in session.dirty:
        if isinstance(obj, Product):
            changes = _changes(obj, PRODUCT_FIELDS)
            if changes:
                action = named or ("product.status" if "status" in changes else "product.edit")
                events.append(AuditEvent(actor_id=actor, product_id=obj.id, action=action,
                                         changes=changes))
    for obj in session.deleted:
        if isinstance(obj, Product):
            events.append(AuditEvent(actor_id=actor, product_id=obj.id, action="product.delete",
                                     changes={"status": [obj.status, None]}))


@event.listens_for(Session, "after_flush_postexec")
def _add(session, _flush_context):
    # Added after the flush has finished; commit() flushes again until nothing is pending.
    events = session.info.pop("pending_audit", None)
    if events:
        session.add_all(events)


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop("pending_audit", None)
