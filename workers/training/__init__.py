"""Training and the model registry: catalogue import, feedback, training runs, versions.

Not a web page and not Celery glue, so it lives beside the workers that load its bundles
and run its periodic retraining (workers/retrain.py), and depends only on `ml/` and the
tables (webapp/training_tables.py). No module here imports Flask: callers pass the store
and the config. TensorFlow is imported inside the functions that train or evaluate, so
the `flask ml`/`flask catalog` commands (webapp/training_commands.py), which import this
package lazily, keep the web process light.
"""
