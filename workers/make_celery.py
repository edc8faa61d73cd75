"""Entry point for `celery -A workers.make_celery worker` (and `beat`)."""
from webapp.metrics_dir import prepare_metrics_dir

# Before anything imports prometheus_client: the prefork pool's children count in files.
prepare_metrics_dir("jai-worker-metrics-")

from celery import signals  # noqa: E402

from webapp import create_app  # noqa: E402
from workers import monitoring  # noqa: E402
from workers.celery_app import heatmap_queue  # noqa: E402
from workers.model_loader import load_at_process_start  # noqa: E402

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
monitoring.connect(flask_app)
load_at_process_start(flask_app)


@signals.celeryd_after_setup.connect
def take_heatmaps_too(sender, instance, **_):
    """The worker also consumes the heatmap queue, after the `-Q` listing queue (read in
    priority order, workers/celery_app.py), unless WORKER_HEATMAPS is off."""
    if flask_app.config["WORKER_HEATMAPS"] and flask_app.config["HEATMAPS_ENABLED"]:
        instance.app.amqp.queues.select_add(heatmap_queue(flask_app.config))


import workers.explain  # noqa: E402  (Grad-CAM heatmaps for the admin review page)
import workers.reaper  # noqa: E402  (the periodic reaper, scheduled in workers/schedule.py)
import workers.retrain  # noqa: E402  (periodic retraining, scheduled in workers/schedule.py)
import workers.tasks  # noqa: E402,F401  (registers the tasks with this app)
