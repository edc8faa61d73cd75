"""The public catalogue: approved listings only, server-rendered."""
from flask import Blueprint

bp = Blueprint("catalog", __name__, url_prefix="/catalogue")
