"""Security: headers and CSP, cookies, rate limits, CSRF beyond forms, escaping of generated
and user text, and no secrets in the repository or the logs.

Access control (isolation, admin roles, CSRF on every form post) is in test_authorization.py;
API tokens in test_api.py.
"""
import logging
import re
import subprocess
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from sqlalchemy import select, update

from tests.factories import ready_product
from tests.support import csrf_from, emailed_link, follow_verification_link, isolated_app, register
from webapp.account.tokens import create_token
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport
from webapp.models import ApiToken, Job, Photo, Product, User
from webapp.security import content_security_policy, storage_origins
from webapp.settings import load_settings
from webapp.storage import create_store

ROOT = Path(__file__).resolve().parent.parent
PAYLOADS = ['<script>alert("xss")</script>', '"><img src=x onerror=alert(1)>',
            "</textarea><svg onload=alert(2)>"]


def csp_of(response) -> dict:
    return {part.split()[0]: part.split()[1:] for part in
            response.headers["Content-Security-Policy"].split("; ")}


# --- headers ------------------------------------------------------------------------------

def test_every_kind_of_response_carries_the_security_headers(app, client):
    token = register(client)
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}).get_json()
    for response in (client.get("/login"), client.get("/products"), client.get("/missing-page"),
                     client.get(created["status_url"]), client.get("/api/v1/products")):
        headers = response.headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        policy = csp_of(response)
        assert policy["script-src"] == ["'self'"] and policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]


def test_csp_lets_the_browser_upload_straight_to_storage_and_show_its_images(app, client,
                                                                             s3_endpoint):
    token = register(client)
    body = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}).get_json()
    upload_origin = "{0.scheme}://{0.netloc}".format(urlsplit(body["upload"]["url"]))
    assert upload_origin == s3_endpoint
    policy = csp_of(client.get("/products/new"))
    assert upload_origin in policy["connect-src"]  # the XHR POST of the file
    assert upload_origin in policy["form-action"]
    assert upload_origin in policy["img-src"]  # presigned thumbnails
    assert "'unsafe-inline'" not in policy["script-src"] + policy["style-src"]


def test_csp_names_the_aws_bucket_origin_when_no_endpoint_is_set(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
    store = create_store({"S3_BUCKET_NAME": "jewellery-media", "AWS_REGION": "eu-west-1"})
    origins = storage_origins(store)
    assert origins and all(o.startswith("https://") and "jewellery-media" in o for o in origins)
    policy = content_security_policy(origins)
    assert f"connect-src 'self' {origins[0]}" in policy


def test_csp_still_names_the_bucket_without_credentials(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    origins = storage_origins(create_store({"S3_BUCKET_NAME": "jewellery-media"}))
    assert "https://jewellery-media.s3.amazonaws.com" in origins


def test_templates_have_no_inline_script_style_or_handlers():
    """The CSP allows only files from this site; inline code would be blocked in the browser."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        html = re.sub(r"\{#.*?#\}|<!--.*?-->", "", path.read_text(), flags=re.S)
        # A JSON-LD data block is never executed, so the policy does not cover it.
        html = re.sub(r'<script type="application/ld\+json">.*?</script>', "", html, flags=re.S)
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) or re.search(r"<style\b", html) \
                or re.search(r"\son[a-z]+\s*=", html) or re.search(r"\sstyle\s*=", html) \
                or "javascript:" in html:
            offenders.append(path.name)
    assert offenders == []


# --- cookies ------------------------------------------------------------------------------

def test_session_cookie_is_secure_httponly_and_samesite_in_production(app, service_env):
    production = {**service_env, "APP_ENV": "production", "SECRET_KEY": "prod-" + uuid.uuid4().hex,
                  "METRICS_TOKEN": "scrape"}
    with isolated_app(production) as web:
        assert web.config["SESSION_COOKIE_SECURE"] and web.config["REMEMBER_COOKIE_SECURE"]
        client = web.test_client()
        client.environ_base["HTTP_X_FORWARDED_PROTO"] = "https"  # as Heroku's router sends
        token = csrf_from(client.get("/register").get_data(as_text=True))
        # Over HTTPS, Flask-WTF also wants the Referer to name this site.
        client.post("/register", headers={"Referer": "https://localhost/register"}, data={
            "email": "prod@example.com", "password": "correct horse battery",
            "confirm": "correct horse battery", "csrf_token": token})
        # Signed in by the emailed link (the outbox: production has no SMTP_HOST here).
        link = emailed_link(web, "prod@example.com", "/verify/")
        token = csrf_from(client.get(link).get_data(as_text=True))
        response = client.post(link, headers={"Referer": f"https://localhost{link}"},
                               data={"csrf_token": token, "password": "correct horse battery"})
        assert response.status_code == 302
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes
        assert "SameSite=Lax" in cookie
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


# --- CSRF beyond the HTML forms -------------------------------------------------------------

def test_json_state_changes_need_the_csrf_header(app, client):
    register(client)
    no_header = client.post("/uploads", json={"filename": "r.jpg", "content_type": "image/jpeg",
                                              "size": 10})
    assert no_header.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Job.id)) is None


def test_no_state_changing_route_outside_csrf_except_token_and_signature_ones(app, client):
    """Every POST/PUT/PATCH/DELETE is CSRF-protected, or needs a bearer token or a signed policy
    (which a third-party page cannot ride with the artisan's cookie)."""
    register(client)
    exempt = []
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "x", url)
        for method in methods:
            response = client.open(url, method=method, json={})
            if response.status_code == 400 and "CSRF" in response.get_data(as_text=True):
                continue
            exempt.append((method, rule.rule, response.status_code))
    for method, rule, status in exempt:
        if rule.startswith("/api/"):
            assert status == 401, (method, rule)  # the session cookie alone is not enough
        else:
            assert rule == "/local-store/upload", (method, rule, status)


# --- rate limits --------------------------------------------------------------------------

LOW_LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_REGISTER": "2 per hour",
              "RATELIMIT_UPLOAD": "3 per minute", "RATELIMIT_LOGIN_SITE": "1000 per second"}


@pytest.fixture
def limited(app, service_env):
    """An app with low limits, counting in Redis; each test comes from its own address."""
    with isolated_app(service_env, LOW_LIMITS) as web:
        yield web


def client_from(web, address):
    client = web.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def address() -> str:
    return "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])


def test_default_limits_and_storage_follow_the_settings():
    local = load_settings({})
    assert local["RATELIMIT_ENABLED"] and local["RATELIMIT_STORAGE_URI"] == "memory://"
    assert local["RATELIMIT_LOGIN"] == "10 per minute;60 per hour"
    assert local["RATELIMIT_REGISTER"] == "10 per hour"
    assert local["RATELIMIT_UPLOAD"] == "60 per minute;600 per hour"
    shared = load_settings({"REDIS_URL": "redis://cache:6379/0"})
    assert shared["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"


def test_sign_in_attempts_are_limited_per_address(limited):
    client = client_from(limited, address())
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", data={"email": "nobody@example.com", "password": "guess",
                                            "csrf_token": token}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = client.post("/login", data={"email": "x@example.com", "password": "y",
                                          "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    elsewhere = client_from(limited, address())
    other_token = csrf_from(elsewhere.get("/login").get_data(as_text=True))
    assert elsewhere.post("/login", data={"email": "a@example.com", "password": "b",
                                          "csrf_token": other_token}).status_code == 200
    keys = redis.Redis.from_url(limited.config["REDIS_URL"]).keys("*auth.login*")
    assert keys, "the counts are kept in Redis"


def test_registrations_are_limited_per_address(limited):
    where = address()
    for n in range(2):
        register(client_from(limited, where), f"new{n}@example.com")
    client = client_from(limited, where)
    token = csrf_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={"email": "third@example.com",
                                              "password": "correct horse battery",
                                              "confirm": "correct horse battery",
                                              "csrf_token": token})
    assert response.status_code == 429
    with limited.app_context():
        assert db.session.scalar(select(User.id).where(User.email == "third@example.com")) is None


def test_upload_creation_is_limited_per_artisan(limited):
    where = address()
    first = client_from(limited, where)
    token = register(first, "busy@example.com")
    request = {"filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}
    statuses = [first.post("/uploads", headers={"X-CSRFToken": token}, json=request).status_code
                for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    refused = first.post("/uploads", headers={"X-CSRFToken": token}, json=request)
    assert "Too many requests" in refused.get_json()["error"]  # JSON for the upload script
    neighbour = client_from(limited, where)  # same office, another artisan
    other_token = register(neighbour, "neighbour@example.com")
    assert neighbour.post("/uploads", headers={"X-CSRFToken": other_token},
                          json=request).status_code == 201


def test_api_upload_creation_is_limited_per_token(limited):
    client = client_from(limited, address())
    register(client, "api-limit@example.com")
    with limited.app_context():
        user = db.session.scalar(select(User).where(User.email == "api-limit@example.com"))
        _, plain = create_token(user, "limits")
    headers = {"Authorization": f"Bearer {plain}"}
    request = {"filename": "r.jpg", "content_type": "image/jpeg", "size": 1000}
    statuses = [client.post("/api/v1/uploads", headers=headers, json=request).status_code
                for _ in range(4)]
    assert statuses == [201, 201, 201, 429]


# --- API tokens (their creation, hashing and revocation: test_api.py) ---------------------

def test_an_artisan_cannot_revoke_or_use_another_artisans_token(app, client):
    register(client, "owner@example.com")
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "owner@example.com"))
        row, plain = create_token(owner, "mine")
        token_id = row.id
    intruder = app.test_client()
    register(intruder, "intruder@example.com")
    page_token = csrf_from(intruder.get("/account/").get_data(as_text=True))
    assert intruder.post(f"/account/tokens/{token_id}/revoke",
                         data={"csrf_token": page_token}).status_code == 404
    assert plain not in intruder.get("/account/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None
    # The session cookie of the owner is no API credential.
    assert client.get("/api/v1/products").status_code == 401
    assert client.get("/api/v1/products", headers={"Authorization": f"Bearer {plain}"}).status_code == 200


# --- escaping -----------------------------------------------------------------------------

def _hostile_result(payload):
    return {"title": f"Ring {payload}", "description": f"Lovely {payload} ring.",
            "tags": ["ring", payload],
            "attributes": {"category": {"value": payload, "confidence": 0.9},
                           "metal": {"value": "gold", "confidence": 0.3}},
            "model_version": "test-1"}


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror", "textarea-svg"])
def test_generated_and_user_text_is_escaped_everywhere(app, client, payload):
    register(client, "admin@example.com")  # an admin (ADMIN_EMAILS) who is also an artisan
    with app.app_context():
        product_id = ready_product("admin@example.com", _hostile_result(payload), status="approved")
        product = db.session.get(Product, product_id)
        product.rejection_reason = f"Because {payload}"
        db.session.add(InaccuracyReport(product_id=product_id, message=f"Wrong {payload}"))
        db.session.execute(update(Photo).where(Photo.product_id == product_id)
                           .values(original_filename=f"{payload}.jpg"))
        db.session.commit()
        job_id = product.jobs[0].id
    pages = ["/products", f"/products/{product_id}", f"/products/{product_id}/panel",
             "/catalogue/", f"/catalogue/{product_id}", "/admin/", f"/admin/products/{product_id}"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert payload not in html, url
        assert injected_markup(html) == [], url
    status = client.get(f"/jobs/{job_id}")
    assert status.mimetype == "application/json"  # never rendered as HTML by the browser
    assert status.headers["X-Content-Type-Options"] == "nosniff"


class _Elements(HTMLParser):
    """Collects what a browser would treat as markup: elements and their attributes."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        data_block = dict(attrs).get("type") == "application/ld+json"  # JSON-LD: never executed
        if (tag == "script" and "src" not in names and not data_block) or tag == "svg" \
                or any(name.startswith("on") for name in names) \
                or (tag == "img" and dict(attrs).get("src") == "x"):
            self.found.append((tag, sorted(names)))


def injected_markup(html: str) -> list:
    """Elements only a payload could have made: inline scripts, event handlers, svg, img src=x."""
    parser = _Elements()
    parser.feed(html)
    return parser.found


# --- secrets ------------------------------------------------------------------------------

SECRET_PATTERNS = {
    "aws access key": r"AKIA[0-9A-Z]{16}",
    "private key": r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    "github token": r"gh[pousr]_[A-Za-z0-9]{36}",
    "slack token": r"xox[baprs]-[A-Za-z0-9-]{10,}",
    "stripe key": r"sk_live_[A-Za-z0-9]{16,}",
    "assigned secret": r"(?i)(secret_key|aws_secret_access_key|password)\s*=\s*['\"][^'\"\s]{12,}['\"]",
}


def test_no_secret_is_committed():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    assert not [f for f in files if Path(f).name in (".env", ".env.local", ".env.production")]
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "ignore")
        for kind, pattern in SECRET_PATTERNS.items():
            for match in re.finditer(pattern, text):
                if "tests/" in name and "not-a-real" in text[match.start():match.end() + 40]:
                    continue
                found.append((name, kind, match.group()[:20]))
    assert found == []
    example = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "SENTRY_DSN",
                 "METRICS_TOKEN", "DB_PASSWORD"):
        value = re.search(rf"^{name}=([^\s#]*)", example, re.M)
        assert value and value.group(1) == "", f"{name} has a value in .env.example"


def test_passwords_tokens_and_keys_never_reach_the_logs(app, service_env, caplog, capfd):
    secret_key = "sk-" + uuid.uuid4().hex
    aws_secret = "aws-" + uuid.uuid4().hex
    password = "pw-" + uuid.uuid4().hex
    env = {**service_env, "SECRET_KEY": secret_key, "AWS_SECRET_ACCESS_KEY": aws_secret,
           "LOG_LEVEL": "DEBUG"}
    caplog.set_level(logging.DEBUG)
    with isolated_app(env) as web:
        client = web.test_client()
        token = csrf_from(client.get("/register").get_data(as_text=True))
        client.post("/register", data={"email": "logs@example.com", "password": password,
                                       "confirm": password, "csrf_token": token})
        follow_verification_link(client, "logs@example.com", password)
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/products/new")
                                                             .get_data(as_text=True))})
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"email": "logs@example.com", "password": password,
                                    "csrf_token": token})
        client.post("/login", data={"email": "logs@example.com", "password": password + "x",
                                    "csrf_token": token})
        with web.app_context():
            user = db.session.scalar(select(User).where(User.email == "logs@example.com"))
            _, plain = create_token(user, "logs")
        api = web.test_client()
        api.post("/api/v1/uploads", headers={"Authorization": f"Bearer {plain}"},
                 json={"filename": "r.jpg", "content_type": "image/jpeg", "size": 1000})
        api.get("/api/v1/products", headers={"Authorization": f"Bearer {plain}x"})
        session_cookie = client.get_cookie("session").value
    out, err = capfd.readouterr()
    logged = caplog.text + out + err
    assert caplog.records, "nothing was logged: the test would prove nothing"
    for secret in (secret_key, aws_secret, password, plain, session_cookie):
        assert secret not in logged
