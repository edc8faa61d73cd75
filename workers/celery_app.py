"""Celery wired to Flask the way Flask's own docs do it: tasks run inside an app context."""
from pathlib import Path

from celery import Celery, Task

from workers.schedule import BEAT_SCHEDULE


def celery_config(config) -> dict:
    """Celery settings from the Flask config; a folder broker when no Redis is configured."""
    broker = config["CELERY_BROKER_URL"]
    options = {}
    if broker.startswith("filesystem://"):
        folder = Path(config["CELERY_BROKER_FOLDER"])
        for sub in ("queue", "processed"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                   "processed_folder": str(folder / "processed"), "store_processed": False}
    elif broker.startswith("redis"):
        # Longer than the hard time limit, so a slow task is not handed out twice.
        options = {"visibility_timeout": 3600}
    return {
        "broker_url": broker,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "task_ignore_result": True,  # job state lives in the database
        "task_default_queue": config["CELERY_QUEUE"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_soft_time_limit": 120,
        "task_time_limit": 180,
        "worker_hijack_root_logger": False,
        "beat_schedule": BEAT_SCHEDULE,
    }


def celery_init_app(app) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(celery_config(app.config))
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
