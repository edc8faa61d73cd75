"""The auth blueprint; its views are in routes.py."""
from flask import Blueprint

bp = Blueprint("auth", __name__)
