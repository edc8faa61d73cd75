"""Operations: liveness and readiness probes, /metrics, and the admins' operations page."""
from flask import Blueprint

bp = Blueprint("ops", __name__)
