"""Fixtures that bring up the real services the suite runs against.

MariaDB/MySQL, Redis and an S3-compatible server must be reachable; a missing
service is an error, never a skip. Each session gets its own database, bucket,
Redis db and Celery queue, so runs do not disturb each other.
"""
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = uuid.uuid4().hex[:8]
MYSQL_HOST = os.environ.get("TEST_MYSQL_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Fixtures defined in other modules, offered to every test without an import.
pytest_plugins = ["tests.live_server"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    import mysql.connector

    name = f"jai_test_{RUN_ID}"
    conn = mysql.connector.connect(host=MYSQL_HOST, user="root", password="")
    conn.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = f"mysql+mysqlconnector://root:@{MYSQL_HOST}:3306/{name}?charset=utf8mb4"
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], check=True, cwd=ROOT,
                   env={**os.environ, "FLASK_APP": "webapp:create_app", "DATABASE_URL": url},
                   capture_output=True)
    yield url
    # Connections left open by test apps or workers would hold metadata locks: end them first.
    cursor = conn.cursor()
    cursor.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                   (name,))
    for (thread_id,) in cursor.fetchall():
        try:
            cursor.execute(f"KILL {int(thread_id)}")
        except mysql.connector.Error:
            pass  # it ended by itself meanwhile
    cursor.execute("SET SESSION lock_wait_timeout = 30")
    cursor.execute(f"DROP DATABASE {name}")
    conn.close()


@pytest.fixture(scope="session")
def redis_url():
    require_port("127.0.0.1", 6379, "Redis")
    # No flush: sessions share this db, each with its own queue and rate-limit key prefix.
    return REDIS_URL


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """An S3-compatible server on a free local port, started for this session."""
    port = free_port()
    data = tmp_path_factory.mktemp("s3")
    script = ROOT / "scripts" / "s3_server.sh"
    subprocess.run(["bash", str(script), "start", str(port), str(data)], check=True, cwd=ROOT)
    yield f"http://127.0.0.1:{port}"
    subprocess.run(["bash", str(script), "stop", str(port), str(data)], cwd=ROOT)


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
    }
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test"
                 ).create_bucket(Bucket=env["S3_BUCKET_NAME"])
    return env


@pytest.fixture(scope="session")
def app(service_env):
    from webapp import create_app

    saved = dict(os.environ)
    os.environ.update(service_env)
    # The suite registers many artisans from one address; tests/test_security_limits.py
    # checks the rate limits on an app of its own.
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False})
    os.environ.clear()
    os.environ.update(saved)
    yield app


@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after a test that used the database."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from webapp.extensions import db

    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def worker(service_env, model_dir):
    """A real Celery worker process on this session's queue, with the tiny models."""
    from tests.support import start_worker

    proc = start_worker({**service_env, "MODEL_DIR": str(model_dir)})
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
