"""Heatmap tasks have a queue of their own, read only after the listing queue; a batch's
originals go in one delete."""
import pytest

from webapp.settings import load_settings
from workers.celery_app import celery_config, heatmap_queue


def test_heatmaps_go_to_their_own_queue_named_after_the_listing_queue(tmp_path):
    config = load_settings({"INSTANCE_PATH": str(tmp_path), "CELERY_QUEUE": "listings-a1"})
    routes = celery_config(config)["task_routes"]
    assert routes["workers.explain.store_heatmap"] == {"queue": "listings-a1-heatmaps"}
    assert celery_config(config)["task_default_queue"] == "listings-a1"  # listing jobs stay where they were


def test_heatmap_queue_can_be_named_and_the_worker_can_leave_it(tmp_path):
    config = load_settings({"INSTANCE_PATH": str(tmp_path), "HEATMAP_QUEUE": "heatmaps",
                            "WORKER_HEATMAPS": "0"})
    assert heatmap_queue(config) == "heatmaps"
    assert config["WORKER_HEATMAPS"] is False
    assert load_settings({"INSTANCE_PATH": str(tmp_path)})["WORKER_HEATMAPS"] is True


def test_redis_worker_reads_its_queues_in_order(tmp_path):
    """With Redis the listing queue (named first, by -Q) is always read before the heatmap queue."""
    config = load_settings({"INSTANCE_PATH": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert celery_config(config)["broker_transport_options"]["queue_order_strategy"] == "priority"


@pytest.mark.parametrize("kind", ["s3", "local"])
def test_delete_many_removes_every_key_in_one_call(app, tmp_path, kind):
    """The worker deletes a batch's originals with one call (one request on S3)."""
    from webapp.storage import get_store
    from webapp.storage.local import LocalStore

    with app.app_context():
        store = get_store() if kind == "s3" else LocalStore(tmp_path, "secret")
        keys = [f"media/uploads/9/batch-{i}.jpg" for i in range(5)]
        for key in keys:
            store.write(key, b"x" * 10, "image/jpeg")
        assert store.delete_many(keys[:4] + ["media/uploads/9/never-there.jpg"]) == {}
        assert [store.head(k) is not None for k in keys] == [False] * 4 + [True]
        assert store.delete_many([]) == {}
