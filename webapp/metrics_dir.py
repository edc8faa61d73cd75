"""Give prometheus_client a folder for multi-process mode before anything imports it.

prometheus_client chooses between in-memory and per-process files once, when it
is first imported, by looking at PROMETHEUS_MULTIPROC_DIR. gunicorn.conf.py and
workers/make_celery.py call this first thing. This module must not import
prometheus_client (nor anything that does).
"""
import atexit
import os
import shutil
import tempfile


def prepare_metrics_dir(prefix: str) -> str:
    """Use PROMETHEUS_MULTIPROC_DIR if set (the operator empties it), else a fresh temporary folder."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        return path
    path = tempfile.mkdtemp(prefix=prefix)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    owner = os.getpid()
    # Only the process that made it removes it; forked children exit without atexit anyway.
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(path, ignore_errors=True))
    return path
