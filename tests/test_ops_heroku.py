"""The Heroku description files agree with the code: processes, settings, build hook, Redis TLS."""
import json
import os
import re
from pathlib import Path

from tests.harness import procfile
from webapp.settings import load_settings, redis_url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {"APP_ENV": "production", "SECRET_KEY": "s" * 32, "REDIS_URL": "redis://r:6379/0",
              "METRICS_TOKEN": "scrape"}


def test_procfile_has_web_worker_beat_and_release():
    processes = procfile()
    assert set(processes) == {"web", "worker", "beat", "release"}
    assert "gunicorn -c gunicorn.conf.py" in processes["web"]
    for option in ("--concurrency ${WORKER_CONCURRENCY", "--prefetch-multiplier ${WORKER_PREFETCH",
                   "-Q ${CELERY_QUEUE"):
        assert option in processes["worker"]
    assert " beat " in processes["beat"] and "db upgrade" in processes["release"]


def test_app_json_formation_matches_the_procfile_and_its_settings_are_documented():
    app = json.loads((ROOT / "app.json").read_text())
    assert set(app["formation"]) == set(procfile()) - {"release"}
    assert app["formation"]["beat"]["quantity"] == 1
    plans = [addon["plan"] for addon in app["addons"]]
    assert any(plan.startswith("heroku-redis") for plan in plans)
    assert any(plan.startswith("jawsdb") for plan in plans)
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    for name, spec in app["env"].items():
        assert name in documented, f"{name} is not in .env.example"
        assert spec["description"]
    assert app["env"]["SECRET_KEY"]["generator"] == "secret"


def test_build_hook_installs_the_no_deps_requirements():
    hook = ROOT / "bin" / "post_compile"
    assert os.access(hook, os.X_OK)
    assert re.search(r"pip install .*--no-deps -r requirements-nodeps.txt", hook.read_text())
    assert (ROOT / ".python-version").read_text().strip() == "3.11"


def test_heroku_rediss_url_skips_certificate_checks_unless_asked():
    url = "rediss://:pw@ec2.example.com:6380"
    assert redis_url({"REDIS_URL": url}) == url + "?ssl_cert_reqs=none"
    assert redis_url({"REDIS_URL": url, "REDIS_TLS_VERIFY": "true"}) == url
    assert redis_url({"REDIS_URL": "redis://127.0.0.1:6379/0"}) == "redis://127.0.0.1:6379/0"
    settings = load_settings({"REDIS_URL": url})
    assert settings["CELERY_BROKER_URL"] == url + "?ssl_cert_reqs=none"


def test_production_turns_on_https_redirects():
    assert load_settings(PRODUCTION)["FORCE_HTTPS"] is True
    assert load_settings({})["FORCE_HTTPS"] is False
