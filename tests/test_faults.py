"""Faults injected into the real services; every accepted upload still finishes exactly once.

Each test runs its own worker on its own queue. Shared services are never stopped:
MariaDB and S3 sit behind a FaultProxy the test controls, and the Redis that goes
down is a throwaway server of the test's own (tests/faults.py).
"""
import io
import os
import signal
import time
import uuid
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.faults import (
    FaultProxy,
    assert_finished_exactly_once,
    beat_args,
    kill_worker_hard,
    pool_children,
    record,
    stop_worker,
    worker_env,
)
from tests.harness import ThrowawayRedis, wait_until
from tests.support import drawn_ring_jpeg, isolated_app, register, start_worker, upload_photo
from webapp.extensions import db
from webapp.models import Job
from webapp.settings import load_settings

pytestmark = pytest.mark.timeout(600)
WORKER_START = 300  # the pool process loads the models before it takes a job


@pytest.fixture
def queue():
    return f"faults-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def s3_proxy(s3_endpoint):
    parts = urlsplit(s3_endpoint)
    proxy = FaultProxy(parts.hostname, parts.port)
    yield proxy
    proxy.close()


@pytest.fixture
def db_proxy(mysql_url):
    proxy = FaultProxy("127.0.0.1", 3306)
    yield proxy
    proxy.close()


def proxied_db_url(mysql_url: str, proxy: FaultProxy) -> str:
    return mysql_url.replace("@127.0.0.1:3306/", f"@{proxy.url_host}/")


def send_upload(client, token, data=None) -> str:
    """Create, store and confirm one upload; return its job id (the upload was accepted)."""
    body, stored = upload_photo(client, token, data or drawn_ring_jpeg())
    assert stored.status_code == 204, stored.text
    confirmed = client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert confirmed.status_code == 202, confirmed.get_data(as_text=True)
    return body["job_id"]


def warm_up(web, client, token) -> str:
    """One job through the worker first: its pool process has loaded the models (and asked
    storage for the promoted version) before the test breaks anything."""
    job_id = send_upload(client, token)
    wait_for_states(web, [job_id], ("ready",), timeout=WORKER_START)
    return job_id


def job_state(app, job_id) -> str:
    with app.app_context():
        db.session.remove()
        state = db.session.get(Job, job_id).state
        db.session.remove()
        return state


def wait_for_states(app, job_ids, states=("ready", "failed"), timeout=240):
    wait_until(lambda: all(job_state(app, j) in states for j in job_ids), timeout,
               f"jobs did not reach {states}: {[job_state(app, j) for j in job_ids]}")


def attempts_of(app, job_id) -> int:
    with app.app_context():
        db.session.remove()
        return db.session.get(Job, job_id).attempts


def test_kill_9_of_the_whole_worker_mid_task(app, service_env, model_dir, queue, s3_proxy):
    env = worker_env(service_env, model_dir, queue,
                     S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}")
    with isolated_app(service_env, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "kill9@example.com")
        first = start_worker(env, name=f"kill9-a-{queue}@%h", timeout=WORKER_START)
        try:
            warm = warm_up(web, client, token)
            s3_proxy.stall()  # holds the next task inside its storage read
            victim = send_upload(client, token)
            wait_until(lambda: job_state(web, victim) == "processing", 120, "task never started")
        finally:
            kill_worker_hard(first)
        killed_at = time.time()
        s3_proxy.restore()
        # Its message is stuck with the dead worker; the reaper (beat) must re-queue the job.
        second = start_worker(env, name=f"kill9-b-{queue}@%h", timeout=WORKER_START,
                              extra_args=beat_args(env))
        try:
            later = send_upload(client, token)
            wait_for_states(web, [victim, later])
        finally:
            stop_worker(second)
        record("kill -9 of the whole worker", jobs=3, recovered_after_s=round(time.time() - killed_at),
               reaper_processing_after_s=load_settings(env)["REAPER_PROCESSING_AFTER"])
        assert_finished_exactly_once(web, [warm, victim, later])
        assert attempts_of(web, victim) == 2
        assert "sending it again" in second.log_path.read_text()


def test_kill_9_of_the_pool_process_mid_task_requeues_the_message(app, service_env, model_dir,
                                                                   queue, s3_proxy):
    env = worker_env(service_env, model_dir, queue,
                     S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}")
    with isolated_app(service_env, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "oom@example.com")
        worker = start_worker(env, name=f"oom-{queue}@%h", timeout=WORKER_START)
        try:
            warm = warm_up(web, client, token)
            s3_proxy.stall()
            victim = send_upload(client, token)
            wait_until(lambda: job_state(web, victim) == "processing", WORKER_START,
                       "task never started")
            children = pool_children(worker)
            assert children, "no pool process"
            for pid in children:  # as the kernel's OOM killer would
                os.kill(pid, signal.SIGKILL)
            killed_at = time.time()
            s3_proxy.restore()
            # acks_late + reject_on_worker_lost: the same message comes back to a new pool
            # process, which takes the job again under the same task id (no reaper in this worker).
            wait_for_states(web, [victim], timeout=WORKER_START)
            record("kill -9 of the pool process", jobs=1,
                   recovered_after_s=round(time.time() - killed_at))
        finally:
            stop_worker(worker)
        assert_finished_exactly_once(web, [warm, victim])
        assert attempts_of(web, victim) == 2
        assert "WorkerLostError" in worker.log_path.read_text()


def test_sigterm_returns_the_running_task_within_heroku_grace(app, service_env, model_dir, queue,
                                                              s3_proxy):
    env = worker_env(service_env, model_dir, queue, S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}",
                     REMAP_SIGTERM="SIGQUIT", WORKER_SHUTDOWN_TIMEOUT=3)
    with isolated_app(service_env, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "sigterm@example.com")
        worker = start_worker(env, name=f"term-a-{queue}@%h", timeout=WORKER_START)
        try:
            warm_up(web, client, token)
            s3_proxy.stall()
            victim = send_upload(client, token)
            wait_until(lambda: job_state(web, victim) == "processing", WORKER_START,
                       "task never started")
            worker.send_signal(signal.SIGTERM)
            signalled = time.time()
            # Heroku sends SIGKILL 30 seconds after SIGTERM.
            worker.wait(timeout=30)
            record("SIGTERM mid-task", exited_after_s=round(time.time() - signalled, 1),
                   shutdown_timeout_s=3)
        finally:
            if worker.poll() is None:
                kill_worker_hard(worker)
        s3_proxy.restore()
        second = start_worker(env, name=f"term-b-{queue}@%h", timeout=WORKER_START,
                              extra_args=beat_args(env))
        try:
            wait_for_states(web, [victim])
        finally:
            stop_worker(second)
        assert_finished_exactly_once(web, [victim])


def test_redis_down_while_uploads_arrive(app, service_env, model_dir, queue, tmp_path):
    redis = ThrowawayRedis(tmp_path, password="redis-pass-" + uuid.uuid4().hex[:8])
    redis.start()
    env = worker_env({**service_env, "REDIS_URL": redis.url}, model_dir, queue)
    worker = None
    try:
        with isolated_app({**service_env, "REDIS_URL": redis.url},
                          {"CELERY_QUEUE": queue, "RATELIMIT_ENABLED": True}) as web:
            assert web.config["RATELIMIT_STORAGE_URI"] == redis.url
            client = web.test_client()
            token = register(client, "redis@example.com")
            worker = start_worker(env, name=f"redis-{queue}@%h", timeout=WORKER_START,
                                  extra_args=beat_args(env))
            warm = send_upload(client, token)
            wait_for_states(web, [warm], ("ready",))

            redis.stop()
            during = [send_upload(client, token) for _ in range(3)]  # rate limits fall back to memory
            for job_id in during:
                status = client.get(f"/jobs/{job_id}")
                assert status.status_code == 200 and status.get_json()["state"] == "queued"
            with web.app_context():
                assert all(db.session.get(Job, j).task_id is None for j in during)  # never sent
                db.session.remove()

            redis.start()  # empty: whatever the broker held is gone
            restarted = time.time()
            wait_for_states(web, during)
            record("Redis down while uploads arrive", accepted_during_outage=len(during),
                   all_ready_after_restart_s=round(time.time() - restarted))
            assert_finished_exactly_once(web, [warm, *during])
        log = worker.log_path.read_text()
        assert redis.password not in log  # the broker URL is logged masked
    finally:
        if worker is not None:
            stop_worker(worker)
        redis.stop()


def test_database_unreachable_for_a_while(app, service_env, mysql_url, model_dir, queue,
                                          s3_proxy, db_proxy):
    through_proxy = {**service_env, "DATABASE_URL": proxied_db_url(mysql_url, db_proxy)}
    env = worker_env(through_proxy, model_dir, queue, S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}",
                     DB_TIMEOUT=3)
    with isolated_app(through_proxy, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "dbdown@example.com")
        worker = start_worker(env, name=f"db-{queue}@%h", timeout=WORKER_START,
                              extra_args=beat_args(env))
        try:
            s3_proxy.stall()
            victim = send_upload(client, token)
            wait_until(lambda: job_state(app, victim) == "processing", WORKER_START,
                       "task never started")
            db_proxy.refuse()
            cut = time.time()
            s3_proxy.restore()  # the task goes on and meets the missing database

            page = client.get("/products")
            assert page.status_code == 503
            html = page.get_data(as_text=True)
            assert "briefly unavailable" in html and "Traceback" not in html
            assert page.headers["Retry-After"]
            started = client.post("/uploads", headers={"X-CSRFToken": token}, json={
                "filename": "r.jpg", "content_type": "image/jpeg", "size": 1000})
            assert started.status_code == 503
            assert "briefly unavailable" in started.get_json()["error"]
            time.sleep(8)  # the worker's retries meet the outage too (2 s, 4 s ... backoff)

            db_proxy.restore()
            restored = time.time()
            wait_for_states(app, [victim])
            record("database unreachable", outage_s=round(restored - cut), web_status=page.status_code,
                   json_status=started.status_code, ready_after_restore_s=round(time.time() - restored))
            assert client.get("/products").status_code == 200
            after = send_upload(client, token)
            wait_for_states(app, [after])
        finally:
            stop_worker(worker)
        assert_finished_exactly_once(app, [victim, after])
        assert "retrying in" in worker.log_path.read_text()


def test_storage_refusing_then_timing_out(app, service_env, s3_endpoint, model_dir, queue, s3_proxy):
    parts = urlsplit(s3_endpoint)
    web_s3 = FaultProxy(parts.hostname, parts.port)  # the web's storage; s3_proxy is the worker's
    env = worker_env(service_env, model_dir, queue, S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}")
    through_proxy = {**service_env, "S3_ENDPOINT_URL": f"http://{web_s3.url_host}"}
    with isolated_app(through_proxy, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "s3down@example.com")
        worker = start_worker(env, name=f"s3-{queue}@%h", timeout=WORKER_START,
                              extra_args=beat_args(env))
        try:
            # The web: stored, then storage refuses before the artisan confirms.
            body, stored = upload_photo(client, token, drawn_ring_jpeg())
            assert stored.status_code == 204
            web_s3.refuse()
            refused = client.post(body["confirm_url"], headers={"X-CSRFToken": token})
            assert refused.status_code == 503 and "storage" in refused.get_json()["error"].lower()
            assert job_state(web, body["job_id"]) == "awaiting_upload"  # confirm can be sent again
            web_s3.restore()
            # The worker: storage refuses while it reads; it retries with backoff.
            s3_proxy.refuse()
            assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202
            refused_job = body["job_id"]
            wait_until(lambda: "retrying in" in worker.log_path.read_text(), WORKER_START,
                       "the worker never met the refusing storage")
            s3_proxy.restore()

            # Timing out: the worker's connections are accepted and never answered.
            s3_proxy.stall()
            slow_job = send_upload(client, token)
            wait_until(lambda: job_state(web, slow_job) == "processing", WORKER_START,
                       "task never started")
            time.sleep(12)  # longer than the client's read timeout (10 s)
            s3_proxy.restore()
            restored = time.time()
            wait_for_states(web, [refused_job, slow_job])
            record("storage refusing, then timing out", confirm_status=refused.status_code,
                   retries=worker.log_path.read_text().count("retrying in"),
                   all_ready_after_restore_s=round(time.time() - restored))
        finally:
            stop_worker(worker)
            web_s3.close()
        assert_finished_exactly_once(web, [refused_job, slow_job])


def noisy_jpeg(side=700) -> bytes:
    """A photo-sized JPEG (noise does not compress): about 200 KB."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "JPEG", quality=85)
    return out.getvalue()


def test_a_job_over_its_soft_time_limit_fails_with_a_reason(app, service_env, model_dir, queue,
                                                            s3_proxy):
    env = worker_env(service_env, model_dir, queue, S3_ENDPOINT_URL=f"http://{s3_proxy.url_host}",
                     TASK_SOFT_TIME_LIMIT=4, TASK_TIME_LIMIT=50)
    with isolated_app(service_env, {"CELERY_QUEUE": queue}) as web:
        client = web.test_client()
        token = register(client, "slow@example.com")
        worker = start_worker(env, name=f"slow-{queue}@%h", timeout=WORKER_START)
        try:
            warm_up(web, client, token)
            # Storage answers, but slowly: the read takes ~15 s, well past the 4 s soft limit,
            # without ever tripping the client's read timeout.
            s3_proxy.slow(16 * 1024)
            job_id = send_upload(client, token, noisy_jpeg())
            sent = time.time()
            wait_for_states(web, [job_id], ("failed",))
            record("soft time limit", soft_limit_s=4, failed_after_s=round(time.time() - sent, 1))
        finally:
            s3_proxy.restore()
            stop_worker(worker)
        assert_finished_exactly_once(web, [job_id], allowed=("failed",))
        with web.app_context():
            assert "took too long" in db.session.get(Job, job_id).error
        log = worker.log_path.read_text()
        assert "Hard time limit" not in log and "retrying in" not in log
