"""Entry point for `celery -A workers.make_celery worker`."""
from webapp import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

import workers.tasks  # noqa: E402,F401  (registers the tasks with this app)
