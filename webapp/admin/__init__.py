"""Admin pages: the review queue, the audit log and the dashboard. Admin rights are read
from the database on every request."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
