"""The front door: what the product is, for strangers; the favicon every browser asks for."""
from flask import Blueprint

bp = Blueprint("landing", __name__)
