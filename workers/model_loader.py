"""The listing generator, loaded once per worker process and kept.

The bundle is the version promoted in the model registry (workers/training/registry.py),
checked every MODEL_CHECK_SECONDS, so `flask ml promote` and `rollback` reach running
workers without a redeploy; MODEL_DIR (the starter) serves until a version is registered.
"""
import logging
import threading
import time

from celery import signals
from flask import current_app

from webapp.storage import get_store
from workers.training.registry import promoted_bundle

_lock = threading.Lock()
_loaded = {}
_registry = {"path": None, "checked": float("-inf")}


def bundle_path() -> str:
    """The promoted bundle's folder, asked of the database at most every MODEL_CHECK_SECONDS."""
    config = current_app.config
    now = time.monotonic()
    if _registry["path"] is None or now - _registry["checked"] >= config["MODEL_CHECK_SECONDS"]:
        _registry["checked"] = now
        try:
            _registry["path"] = str(promoted_bundle(get_store(), config))
        except Exception:  # registry or storage unreachable: keep serving what is loaded
            logging.getLogger(__name__).warning("promoted model version not checked", exc_info=True)
            _registry["path"] = _registry["path"] or config["MODEL_DIR"]
    return _registry["path"]


def get_generator():
    """Load the promoted bundle on first use and when the promoted version changes."""
    path = bundle_path()
    with _lock:
        if path not in _loaded:
            from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

            _loaded.clear()
            _loaded[path] = ListingGenerator.load(path)
        return _loaded[path]


def load_at_process_start(flask_app) -> None:
    """Load the bundle as each pool process starts, so no job pays for it inside its time limit.

    Loading happens in the child, after the fork (TensorFlow is not fork-safe). If it fails,
    the worker still starts and each job tries again, failing with a reason.
    """
    def load(**_):
        log = logging.getLogger(__name__)
        with flask_app.app_context():
            try:
                started = time.perf_counter()
                generator = get_generator()
                loaded = time.perf_counter()
                generator.warm_up()  # compiled paths traced now, not in the first job
                if flask_app.config.get("HEATMAPS_ENABLED") and flask_app.config.get("WORKER_HEATMAPS"):
                    from workers.explain import warm_up_heatmaps  # noqa: PLC0415  (lazy: workers.explain imports this module)

                    warm_up_heatmaps(generator)
                log.info("model bundle loaded in %.2f s (TensorFlow imports included), warmed up in %.2f s",
                         loaded - started, time.perf_counter() - loaded)
            except Exception:
                log.exception("model bundle not loaded at start")

    signals.worker_process_init.connect(load, weak=False)
