"""The artisan's settings: API tokens for integrations."""
from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/account")
