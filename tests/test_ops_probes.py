"""Liveness and readiness probes against the real services (and a Redis of the test's own)."""
from tests.ops_support import throwaway_redis
from tests.support import isolated_app


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_turns_503_when_redis_stops_while_healthz_stays_200(service_env):
    with throwaway_redis() as (url, redis_proc), isolated_app({**service_env, "REDIS_URL": url}) as app:
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.get_json()
        assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}

        redis_proc.kill()
        redis_proc.wait(timeout=10)

        down = client.get("/readyz")
        assert down.status_code == 503
        body = down.get_json()
        assert body["status"] == "unavailable"
        assert body["failed"] == ["redis"]
        assert body["checks"]["redis"].startswith("error: ")
        assert body["checks"]["database"] == body["checks"]["storage"] == "ok"
        assert client.get("/healthz").status_code == 200


def test_readyz_names_storage_when_the_bucket_is_missing(service_env):
    with isolated_app({**service_env, "S3_BUCKET_NAME": "jai-no-such-bucket"}) as app:
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["storage"]
