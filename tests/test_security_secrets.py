"""Secrets and exposure by default: no constant SECRET_KEY, keys of their own for the local
store, production refuses short keys, and the development server listens on loopback only."""
import hashlib
import hmac
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask.sessions import SecureCookieSessionInterface

from tests.harness import procfile
from tests.support import isolated_app
from webapp.extensions import db
from webapp.models import User
from webapp.settings import load_settings
from webapp.storage import create_store

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"APP_ENV": "production", "REDIS_URL": "redis://r:6379/0", "METRICS_TOKEN": "scrape"}
OLD_CONSTANT = "dev-only-not-secret"  # the key every install used to share


def forged_session(app, secret, user_id):
    """A session cookie for `user_id`, signed with `secret` the way Flask signs its own."""
    forger = SecureCookieSessionInterface()
    app_like = type("AppLike", (), {"secret_key": secret, "config": app.config})()
    return forger.get_signing_serializer(app_like).dumps({"_user_id": str(user_id), "_fresh": True})


def test_a_cookie_forged_with_the_old_constant_opens_nothing(app, service_env, tmp_path):
    env = {**service_env, "SECRET_KEY": "", "INSTANCE_PATH": str(tmp_path / "instance")}
    with isolated_app(env) as web:
        assert web.config["SECRET_KEY"] != OLD_CONSTANT
        with web.app_context():
            admin = User(email="boss@example.com", is_admin=True)
            admin.set_password("correct horse battery")
            db.session.add(admin)
            db.session.commit()
            admin_id = admin.id
        client = web.test_client()
        client.set_cookie("session", forged_session(web, OLD_CONSTANT, admin_id))
        for page in ("/admin/", "/admin/ops", "/admin/audit"):
            response = client.get(page)
            assert response.status_code == 302 and "/login" in response.headers["Location"], page
        # The same cookie signed with the app's real key does open it: the forgery test is fair.
        client.set_cookie("session", forged_session(web, OLD_CONSTANT, f"{admin_id}:0"))
        assert client.get("/admin/").status_code == 302  # nor in today's session-id shape
        client.set_cookie("session", forged_session(web, web.config["SECRET_KEY"], f"{admin_id}:0"))
        assert client.get("/admin/").status_code == 200


def test_the_generated_key_is_random_kept_owner_only_and_reused(tmp_path):
    first = load_settings({"INSTANCE_PATH": str(tmp_path / "a")})["SECRET_KEY"]
    again = load_settings({"INSTANCE_PATH": str(tmp_path / "a")})["SECRET_KEY"]
    elsewhere = load_settings({"INSTANCE_PATH": str(tmp_path / "b")})["SECRET_KEY"]
    assert first == again != elsewhere
    assert len(bytes.fromhex(first)) >= 32
    key_file = tmp_path / "a" / "secret_key"
    assert key_file.read_text().strip() == first
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["secret_key"]  # no temporary left


def test_production_refuses_a_missing_or_short_secret():
    for short in ("", "short", "x" * 31):
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            load_settings({**PRODUCTION, "SECRET_KEY": short})
    assert load_settings({**PRODUCTION, "SECRET_KEY": "k" * 32})["SECRET_KEY"] == "k" * 32


def test_the_local_store_signs_with_its_own_key_not_one_derived_from_secret_key(tmp_path):
    secret = "s" * 40
    config = {"SECRET_KEY": secret, "INSTANCE_PATH": str(tmp_path), "S3_BUCKET_NAME": "",
              "LOCAL_STORAGE_PATH": str(tmp_path / "objects")}
    store = create_store(config)
    key_file = tmp_path / "local_store_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_store(config)._key == store._key  # reused: links stay valid after a restart
    # What a reader of SECRET_KEY (and of the old source) could sign:
    derived = hashlib.sha256(("local-store:" + secret).encode()).digest()
    until = int(time.time()) + 600
    forged = hmac.new(derived, f"uploads/1/a.jpg:{until}".encode(), hashlib.sha256).hexdigest()
    assert not store.check_download("uploads/1/a.jpg", until, forged)
    forged_policy = hmac.new(derived, b"e30=", hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(store._sign("e30="), forged_policy)


def gunicorn_bind(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("BIND", "HOST", "PORT")}
    out = subprocess.run([sys.executable, "-c", "import runpy; print(runpy.run_path("
                          "'gunicorn.conf.py')['bind'])"], cwd=ROOT, env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def shell(expression: str, **env) -> str:
    return subprocess.run(["bash", "-c", f"echo {expression}"], env={"PATH": os.environ["PATH"], **env},
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_development_server_listens_on_loopback_unless_told_otherwise():
    assert gunicorn_bind() == "127.0.0.1:5000"
    assert gunicorn_bind(PORT="6001") == "127.0.0.1:6001"
    assert gunicorn_bind(HOST="0.0.0.0") == "0.0.0.0:5000"
    assert gunicorn_bind(BIND="10.0.0.5:80") == "10.0.0.5:80"
    # `make run` hands honcho a loopback BIND; Heroku (no BIND) gets 0.0.0.0:$PORT from the Procfile.
    recipe = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True).stdout
    honcho = next(line for line in recipe.splitlines() if "honcho start" in line)
    bind = honcho.split("BIND=", 1)[1].split()[0]
    assert shell(bind) == "127.0.0.1:5000"
    assert shell(bind, PORT="5100") == "127.0.0.1:5100"
    procfile_bind = procfile()["web"].split("--bind ", 1)[1].split()[0]
    assert shell(procfile_bind, PORT="31337") == "0.0.0.0:31337"
    assert shell(procfile_bind, PORT="31337", BIND="127.0.0.1:5000") == "127.0.0.1:5000"


def test_production_refuses_memory_only_rate_limits_and_a_public_metrics_page():
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        load_settings({**PRODUCTION, "SECRET_KEY": "k" * 32, "REDIS_URL": ""})
    with pytest.raises(RuntimeError, match="METRICS_TOKEN"):
        load_settings({**PRODUCTION, "SECRET_KEY": "k" * 32, "METRICS_TOKEN": ""})
    assert load_settings({**PRODUCTION, "SECRET_KEY": "k" * 32})["RATELIMIT_STORAGE_URI"].startswith("redis://")


def test_embedded_mode_says_at_start_that_limits_are_per_process(tmp_path, caplog):
    from tests.ops_support import embedded_config

    with caplog.at_level("WARNING", logger="webapp.limits"):
        with isolated_app({}, embedded_config(tmp_path, RATELIMIT_ENABLED=True)):
            pass
    assert any("per process" in r.getMessage() for r in caplog.records if r.name == "webapp.limits")
