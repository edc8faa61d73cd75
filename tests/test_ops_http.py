"""Behind Heroku's router: HTTPS redirects, forwarded client address, and optional Sentry."""
import subprocess
import sys

from flask import request

from tests.ops_support import embedded_config
from tests.support import isolated_app
from webapp.settings import ROOT


def test_production_sends_plain_http_to_https_but_lets_probes_through(tmp_path):
    with isolated_app({}, embedded_config(tmp_path, FORCE_HTTPS=True, PROXY_FIX_HOPS=1)) as app:
        with app.app_context():
            from webapp.extensions import db
            db.create_all()
        client = app.test_client()

        plain = client.get("/login?next=/products")
        assert plain.status_code == 301
        assert plain.headers["Location"] == "https://localhost/login?next=/products"
        assert client.post("/login").status_code == 308  # keeps the method and body

        routed = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert routed.status_code == 200
        assert routed.headers["Strict-Transport-Security"].startswith("max-age=")

        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_development_serves_plain_http(tmp_path):
    with isolated_app({}, embedded_config(tmp_path, FORCE_HTTPS=False)) as app:
        response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response.headers


def whoami(app, headers, remote="198.51.100.7"):
    app.add_url_rule("/_whoami", "whoami", lambda: f"{request.remote_addr} {request.scheme}")
    return app.test_client().get("/_whoami", headers=headers,
                                 environ_base={"REMOTE_ADDR": remote}).get_data(as_text=True)


def test_without_a_proxy_the_clients_forwarded_headers_are_ignored(tmp_path):
    with isolated_app({}, embedded_config(tmp_path)) as app:
        assert app.config["PROXY_FIX_HOPS"] == 0
        answer = whoami(app, {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    assert answer == "198.51.100.7 http"


def test_behind_one_router_only_the_address_it_appended_is_believed(tmp_path):
    # Heroku's router appends the peer it saw to what the client sent; one hop counts from the right.
    with isolated_app({}, embedded_config(tmp_path, PROXY_FIX_HOPS=1)) as app:
        answer = whoami(app, {"X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Forwarded-Proto": "https"},
                        remote="10.1.2.3")
    assert answer == "203.0.113.9 https"


def test_proxy_hops_default_to_one_in_production_and_none_elsewhere():
    from webapp.settings import load_settings

    production = {"APP_ENV": "production", "SECRET_KEY": "k" * 32, "REDIS_URL": "redis://r:6379/0",
                  "METRICS_TOKEN": "t"}
    assert load_settings(production)["PROXY_FIX_HOPS"] == 1
    assert load_settings({})["PROXY_FIX_HOPS"] == 0
    assert load_settings({"PROXY_FIX_HOPS": "2"})["PROXY_FIX_HOPS"] == 2


def test_gunicorn_takes_forwarded_headers_only_from_loopback_by_default():
    import os
    env = {k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"}
    out = subprocess.run([sys.executable, "-c", "import runpy; print(runpy.run_path("
                          "'gunicorn.conf.py')['forwarded_allow_ips'])"], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == "127.0.0.1,::1"


def test_metrics_token_is_required_when_set(tmp_path):
    with isolated_app({}, embedded_config(tmp_path, METRICS_TOKEN="s3cret")) as app:
        client = app.test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


# Run in a child process: sentry_sdk.init is process-wide and must not leak into other tests.
SENTRY_PROBE = """
import gzip, http.server, sys, threading, zlib
received = []

class Sentry(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        received.append(gzip.decompress(body) if encoding == "gzip"
                        else zlib.decompress(body) if encoding == "deflate" else body)
        self.send_response(200); self.end_headers()
    def log_message(self, *args):
        pass

server = http.server.HTTPServer(("127.0.0.1", 0), Sentry)
threading.Thread(target=server.serve_forever, daemon=True).start()
dsn = f"http://publickey@127.0.0.1:{server.server_port}/1" if sys.argv[2] == "on" else ""

import sentry_sdk
from webapp import create_app
app = create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": sys.argv[1],
                  "CELERY_BROKER_URL": "memory://", "SENTRY_DSN": dsn})
def boom():
    raise ZeroDivisionError("sentry probe")
app.add_url_rule("/_boom", "boom", boom)
assert app.test_client().get("/_boom").status_code == 500
sentry_sdk.flush(5)
print("active" if sentry_sdk.get_client().is_active() else "inactive")
print(sum(b"sentry probe" in body for body in received))
"""


def _sentry_probe(tmp_path, mode):
    out = subprocess.run([sys.executable, "-c", SENTRY_PROBE, str(tmp_path), mode], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()[-2:]


def test_sentry_reports_an_unhandled_error_when_a_dsn_is_set(tmp_path):
    state, events = _sentry_probe(tmp_path, "on")
    assert state == "active" and int(events) >= 1


def test_sentry_stays_off_without_a_dsn(tmp_path):
    state, events = _sentry_probe(tmp_path, "off")
    assert state == "inactive" and events == "0"
