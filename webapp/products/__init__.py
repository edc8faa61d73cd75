"""The products blueprint; its views are in routes.py."""
from flask import Blueprint

bp = Blueprint("products", __name__)
