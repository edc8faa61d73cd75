"""/metrics in Prometheus text format, counting a real upload processed by a real worker."""
from tests.ops_support import scrape, value, wait_for_heartbeat
from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job


def test_metrics_parse_and_count_a_processed_upload(app, client, worker):
    queue = app.config["CELERY_QUEUE"]
    before = scrape(client.get("/metrics").get_data(as_text=True))
    token = register(client)
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert stored.status_code == 204
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202
    assert wait_for_job(client, body["status_url"])["state"] == "ready"
    assert wait_for_heartbeat(app) == 1

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    after = scrape(response.get_data(as_text=True))

    for counter in ("jai_uploads_created_total", "jai_uploads_confirmed_total"):
        assert value(after, counter) == value(before, counter) + 1, counter
    confirm = dict(endpoint="products.confirm", method="POST", status="202")
    assert value(after, "jai_http_request_duration_seconds_count", **confirm) == \
        value(before, "jai_http_request_duration_seconds_count", **confirm) + 1
    # Read from the database and the broker when scraped, so every web process agrees.
    assert value(after, "jai_jobs", state="ready") == 1
    assert value(after, "jai_jobs", state="queued") == 0
    assert ("jai_queue_depth", frozenset({"queue": queue}.items())) in after
    assert value(after, "jai_workers_alive") == 1  # from the worker's heartbeat in Redis

