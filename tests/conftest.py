"""Fixtures that bring up the real services the suite runs against.

MariaDB/MySQL, Redis and an S3-compatible server must be reachable; a missing
service is an error, never a skip. Each session gets its own database, bucket,
Redis db and Celery queue, so runs do not disturb each other. Processes are
started through tests/harness.py, each in a group of its own; a session that
leaves one running fails.
"""
import contextlib
import os
import re
import socket
import uuid

import psutil
import pytest

from tests.harness import (
    MYSQL_HOST,
    Services,
    become_subreaper,
    create_database,
    descendants,
    describe,
    drop_database,
    migrate,
    stop_group,
    wait_until,
)

RUN_ID = uuid.uuid4().hex[:8]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Fixtures defined in other modules, offered to every test without an import.
pytest_plugins = ["tests.live_server", "tests.browser_checks"]


# Tiers (pytest.ini): a test using one of these fixtures, even through another fixture, is
# marked by it, so `pytest -m "not services and not models"` runs the rest on its own (README).
SERVICE_FIXTURES = {"mysql_url", "redis_url", "s3_endpoint"}  # a real server
MODEL_FIXTURES = {"model_dir", "tiny_bundle", "generator", "weights_cache"}  # TensorFlow models


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.services)
        if used & MODEL_FIXTURES:
            item.add_marker(pytest.mark.models)


def pytest_configure(config):
    # Orphans of anything the suite starts come back to this process, so none goes unseen.
    become_subreaper()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a process it started outlived it (all fixtures are torn down by now).

    A few seconds are allowed for helpers that exit just after their parent (a browser's crash
    reporter)."""
    try:
        wait_until(lambda: not descendants(), 10, "processes left")
    except TimeoutError:
        pass
    left = descendants()
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.ensure_newline()
        reporter.write_line("processes started by this session were still running (now killed):\n  "
                            + "\n  ".join(describe(left)), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        for proc in left:
            with contextlib.suppress(psutil.Error):
                proc.kill()


def require_port(host, port, what):
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        pytest.fail(f"{what} is not reachable at {host}:{port} ({exc}); the suite needs it running.",
                    pytrace=False)


@pytest.fixture(scope="session")
def mysql_url():
    """A fresh MariaDB/MySQL database for this session, schema built by the Alembic migrations."""
    require_port(MYSQL_HOST, 3306, "MariaDB/MySQL")
    name = f"jai_test_{RUN_ID}"
    url = create_database(name)
    migrate({**os.environ, "DATABASE_URL": url})
    yield url
    drop_database(name)


@pytest.fixture(scope="session")
def redis_url():
    require_port("127.0.0.1", 6379, "Redis")
    # No flush: sessions share this db, each with its own queue and rate-limit key prefix.
    return REDIS_URL


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """An S3-compatible server on a free local port, started for this session."""
    with Services(tmp_path_factory.mktemp("s3")) as services:
        yield services.s3()


@pytest.fixture(scope="session")
def model_dir():
    """A tiny model bundle, trained once and reused while ml/ is unchanged."""
    from tests.support import tiny_model_bundle

    return tiny_model_bundle()


@pytest.fixture(scope="session")
def service_env(mysql_url, redis_url, s3_endpoint, tmp_path_factory):
    """Environment for the app and the worker: real MySQL, Redis and S3."""
    env = {
        "DATABASE_URL": mysql_url,
        "REDIS_URL": redis_url,
        "S3_BUCKET_NAME": f"jai-test-{RUN_ID}",
        "S3_PREFIX": "media/",
        "S3_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "CELERY_QUEUE": f"listings-{RUN_ID}",
        "RATELIMIT_KEY_PREFIX": f"jai-test-{RUN_ID}",
        "INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "SECRET_KEY": "test-secret",
        "ADMIN_EMAILS": "admin@example.com",
        # Off by default (docs/models.md); on here so the heatmap path stays tested.
        "HEATMAPS_ENABLED": "1",
    }
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test"
                 ).create_bucket(Bucket=env["S3_BUCKET_NAME"])
    return env


@pytest.fixture(scope="session")
def app(service_env):
    from webapp import create_app

    # The suite registers many artisans from one address; tests/test_security*.py
    # check the rate limits on apps of their own.
    return create_app({"TESTING": True, "RATELIMIT_ENABLED": False}, env=service_env)


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after a test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from webapp import taxonomy
    from webapp.extensions import db

    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    taxonomy.forget()  # the promoted version it kept for a few seconds is gone with the rows


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def worker(service_env, model_dir):
    """A real Celery worker process on this session's queue, with the tiny models."""
    from tests.support import start_worker

    proc = start_worker({**service_env, "MODEL_DIR": str(model_dir)})
    yield proc
    stop_group(proc)


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
