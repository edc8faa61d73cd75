"""Periodic retraining (beat; off unless RETRAIN_ENABLED): train on the catalogue plus
feedback and promote through the same held-out gate as `flask ml train`, but only once
RETRAIN_MIN_NEW_APPROVED listings were approved since the newest registered version."""
import logging

from celery import shared_task
from flask import current_app
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Product
from webapp.storage import get_store
from webapp.training_tables import ModelVersion
from workers.training.pipeline import train_candidate

log = logging.getLogger(__name__)


def approved_since_last_version() -> int:
    newest = db.session.scalar(select(func.max(ModelVersion.created_at)))
    query = select(func.count()).select_from(Product).where(Product.status == "approved")
    if newest is not None:
        query = query.where(Product.reviewed_at > newest)
    return int(db.session.scalar(query) or 0)


@shared_task(name="workers.retrain.retrain_models", ignore_result=True)
def retrain_models(force: bool = False) -> dict:
    """Retrain if enough new listings were approved; returns what happened."""
    config = current_app.config
    new = approved_since_last_version()
    if not force and new < config["RETRAIN_MIN_NEW_APPROVED"]:
        log.info("retraining skipped: %d new approved listings (need %d)", new,
                 config["RETRAIN_MIN_NEW_APPROVED"])
        return {"skipped": True, "new_approved": new}
    result = train_candidate(get_store(), config, log=log.info)
    log.info("retrained %s: promoted=%s gate=%s", result["version"], result["promoted"], result["gate"])
    return result
