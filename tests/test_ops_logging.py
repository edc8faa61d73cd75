"""Logs: one JSON object per line, carrying the request, user, product, job and task ids."""
import io
import json

from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.logging_setup import installed_handler
from webapp.models import Job, User


def test_web_log_lines_are_json_with_request_user_product_and_job_ids(app, client):
    handler = installed_handler()
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        token = register(client)
        body, stored = upload_photo(client, token, drawn_ring_jpeg())
        confirmed = client.post(body["confirm_url"], headers={
            "X-CSRFToken": token, "X-Request-ID": "req-from-router-42"})
    finally:
        handler.setStream(previous)
    assert confirmed.headers["X-Request-ID"] == "req-from-router-42"

    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]  # every line parses
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    event = next(line for line in lines if line["message"].startswith("upload confirmed"))
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        user = db.session.scalar(db.select(User).where(User.email == "artisan@example.com"))
        assert event["request_id"] == "req-from-router-42"
        assert event["user_id"] == user.id
        assert event["job_id"] == job.id
        assert event["product_id"] == job.product_id


def test_an_odd_or_long_request_id_is_replaced(client):
    for given in ('bad id {"level": "ERROR"}', "x" * 300):
        returned = client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
        assert returned != given and len(returned) == 32


def test_worker_log_lines_are_json_with_task_job_and_product_ids(app, client, worker):
    token = register(client)
    body, _ = upload_photo(client, token, drawn_ring_jpeg())
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert wait_for_job(client, body["status_url"])["state"] == "ready"
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        task_id, product_id = job.task_id, job.product_id

    events = [json.loads(line) for line in worker.log_path.read_text().splitlines()
              if line.startswith("{")]
    ready = [e for e in events if e["message"].startswith(f"job {job.id} ready")]
    assert len(ready) == 1, events[-5:]
    assert ready[0]["task_id"] == task_id
    assert ready[0]["job_id"] == job.id
    assert ready[0]["product_id"] == product_id
