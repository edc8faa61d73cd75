"""The rendered catalogue page for anonymous visitors, kept for a short while per process.

Most catalogue views are anonymous and identical: the same 24 tiles for the same filters.
A stored page is served again only while the catalogue's version is unchanged (one cheap
query: how many listings are approved and when the latest of them changed) and for at
most ``MAX_AGE`` seconds; a change to a product in this process also clears the store at
once. Pages for signed-in people (their own navigation and token) and pages carrying a
flashed message are never stored.

Within one process a change shows at once; in another web process, at the next request
that sees a new version (a change within the same second as the stored version to an
approved listing that stays approved shows within ``MAX_AGE`` at the latest).
"""
import threading
import time

from flask import get_flashed_messages
from flask_login import current_user
from flask_sqlalchemy.session import Session
from sqlalchemy import event, func, select

from webapp.extensions import db
from webapp.models import Photo, Product

MAX_AGE = 30.0
MAX_PAGES = 256
_pages: dict = {}  # key -> (version, html, stored at)
_lock = threading.Lock()


def cacheable() -> bool:
    """Only an anonymous view with nothing flashed for this visitor is the same for everyone."""
    # Flask keeps the messages it pops for the rest of the request, so the page still shows them.
    return not current_user.is_authenticated and not get_flashed_messages()


def catalogue_version() -> tuple:
    return tuple(db.session.execute(
        select(func.count(), func.max(Product.updated_at)).where(Product.status == "approved")).one())


def cached_page(key, version):
    entry = _pages.get(key)
    if entry is not None and entry[0] == version and time.monotonic() - entry[2] < MAX_AGE:
        return entry[1]
    return None


def store_page(key, version, html) -> None:
    with _lock:
        if len(_pages) >= MAX_PAGES:
            _pages.clear()
        _pages[key] = (version, html, time.monotonic())


def clear() -> None:
    with _lock:
        _pages.clear()


@event.listens_for(Session, "after_flush")
def _products_changed(session, _flush_context):
    if any(isinstance(obj, (Product, Photo)) for obj in (*session.new, *session.dirty, *session.deleted)):
        clear()
