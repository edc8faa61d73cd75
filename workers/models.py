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
