"""The listing generator, loaded once per worker process and kept."""
import threading

from flask import current_app

_lock = threading.Lock()
_loaded = {}


def get_generator():
    """Load the model bundle on first use; later calls return the same object."""
    path = current_app.config["MODEL_DIR"]
    with _lock:
        if path not in _loaded:
            from ml.listing import ListingGenerator  # TensorFlow stays out of the web process

            _loaded.clear()
            _loaded[path] = ListingGenerator.load(path)
        return _loaded[path]


def load_at_process_start(flask_app) -> None:
    """Load the bundle as each pool process starts, so no job pays for it inside its time limit.

    Loading happens in the child, after the fork (TensorFlow is not fork-safe). If it fails,
    the worker still starts and each job tries again, failing with a reason.
    """
    import logging

    from celery import signals

    def load(**_):
        with flask_app.app_context():
            try:
                get_generator()
            except Exception:
                logging.getLogger(__name__).exception("model bundle not loaded at start")

    signals.worker_process_init.connect(load, weak=False)
