"""Celery wired to Flask the way Flask's own docs do it: tasks run inside an app context."""
from pathlib import Path

from celery import Celery, Task

from workers.schedule import beat_schedule


def heatmap_queue(config) -> str:
    """The queue of the Grad-CAM task: HEATMAP_QUEUE, else the listing queue's name + "-heatmaps"."""
    return config.get("HEATMAP_QUEUE") or f"{config['CELERY_QUEUE']}-heatmaps"


def celery_config(config) -> dict:
    """Celery settings from the Flask config; a folder broker when no Redis is configured."""
    broker = config["CELERY_BROKER_URL"]
    options = {}
    if broker.startswith("filesystem://"):
        folder = Path(config["CELERY_BROKER_FOLDER"])
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        options = {"data_folder_in": str(folder / "queue"), "data_folder_out": str(folder / "queue"),
                   "processed_folder": str(folder / "processed"), "store_processed": False,
                   # Without this kombu writes its exchange tables to ./control in the working dir.
                   "control_folder": str(folder / "control"),
                   # One message per look: at kombu's 1 s default a batch's no-op and heatmap
                   # tasks queued one second each in front of the next listing.
                   "polling_interval": config.get("FOLDER_BROKER_POLL_SECONDS", 0.05)}
    elif broker.startswith("redis"):
        # A message a vanished worker held comes back after this; the reaper re-queues the job
        # long before (REAPER_PROCESSING_AFTER), and a task re-run on a finished job does nothing.
        options = {"visibility_timeout": 3600, "socket_connect_timeout": 5,
                   # Queues are read in the order the worker lists them: the listing queue first,
                   # the heatmap queue only when no listing waits (workers/make_celery.py).
                   "queue_order_strategy": "priority"}
    return {
        "broker_url": broker,
        "broker_transport_options": options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # a Redis outage pauses the worker, never ends it
        # The web sends while a person waits: a broker that is down answers fast, the row stays queued.
        "task_publish_retry_policy": {"max_retries": 2, "interval_start": 0.2,
                                      "interval_step": 0.5, "interval_max": 1.0},
        "task_ignore_result": True,  # job state lives in the database
        "task_default_queue": config["CELERY_QUEUE"],
        # Grad-CAM overlays are an admin extra: on a queue of their own, never ahead of a listing.
        "task_routes": {"workers.explain.store_heatmap": {"queue": heatmap_queue(config)}},
        # Acknowledged only after the task returns; a worker that dies hands the message back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # A pool process loads the models before it reports ready (workers/model_loader.py).
        "worker_proc_alive_timeout": 180,
        "task_soft_time_limit": config["TASK_SOFT_TIME_LIMIT"],
        "task_time_limit": config["TASK_TIME_LIMIT"],
        # SIGTERM (remapped to SIGQUIT by REMAP_SIGTERM, see the Procfile): running tasks get this
        # long to finish, then are cancelled and requeued, well inside Heroku's 30 seconds.
        "worker_soft_shutdown_timeout": config["WORKER_SHUTDOWN_TIMEOUT"],
        "worker_hijack_root_logger": False,
        "beat_schedule": beat_schedule(config),
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
