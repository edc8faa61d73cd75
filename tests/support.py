"""Helpers shared by tests: the tiny model, extra apps, the worker process and the upload flow."""
import contextlib
import hashlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests
from PIL import Image, ImageDraw

from tests.harness import spawn, wait_worker_ready

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


def tiny_model_bundle() -> Path:
    """Train the tiny bundle once per version of ml/ and reuse it."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "ml").rglob("*.py")):
        digest.update(path.read_bytes())
    out = CACHE / "models" / f"tiny-{digest.hexdigest()[:12]}"
    if not (out / "meta.json").exists():
        subprocess.run([sys.executable, "-m", "ml.train_starter", "--tiny", "--out", str(out)],
                       check=True, cwd=ROOT)
    return out


@contextlib.contextmanager
def isolated_app(env: dict, config: dict | None = None):
    """An app built from `env` alone (plus config overrides), leaving Celery's default app alone.

    create_app makes its Celery app the process default; without putting the session app's
    back, later tests would send shared tasks to this app's broker."""
    from celery import _state

    from webapp import create_app

    saved_default, saved_current = _state.default_app, _state._tls.current_app
    try:
        app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False, **(config or {})}, env=env)
    finally:
        _state.set_default_app(saved_default)
        _state._set_current_app(saved_current)
    try:
        yield app
    finally:
        from webapp.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def start_worker(env: dict, log_path: Path | None = None, timeout: float = 120,
                 name: str | None = None, extra_args=()):
    """Start `celery worker` like the Procfile does, in a process group of its own, and wait
    until it is ready. Stop it with `tests.harness.stop_group`.

    `extra_args` go on the command line (e.g. "-B" for an embedded beat)."""
    log_path = log_path or Path(env["INSTANCE_PATH"]) / f"worker-{time.time_ns()}.log"
    proc = spawn([sys.executable, "-m", "celery", "-A", "workers.make_celery", "worker",
                  "-Q", env["CELERY_QUEUE"], "-c", "1", "--loglevel", "INFO",
                  "-n", name or f"test-{os.getpid()}@%h", *extra_args],
                 env={**os.environ, **env}, log_path=log_path)
    wait_worker_ready(proc, timeout)
    return proc


def drawn_ring_jpeg(size=320) -> bytes:
    """A simple drawn gold ring on a light background."""
    image = Image.new("RGB", (size, size), (238, 234, 228))
    draw = ImageDraw.Draw(image)
    c, r = size // 2, size // 3
    draw.ellipse((c - r, c - r, c + r, c + r), outline=(212, 175, 55), width=size // 14)
    draw.ellipse((c - 18, c - r - 24, c + 18, c - r + 12), fill=(180, 20, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def drawn_ring_heic() -> bytes:
    """The drawn ring (drawn_ring_jpeg(320)) as a HEIC file, as an iPhone saves photos.

    Kept as a file: x265, which pillow-heif encodes with, at times fails to start on a loaded
    machine ("encoder could not be opened"), and the tests are about decoding. Made with
    `Image.open(io.BytesIO(drawn_ring_jpeg(320))).save(out, "HEIF", quality=85)` (pillow-heif 1.8.1).
    """
    return (ROOT / "tests" / "data" / "drawn-ring-320.heic").read_bytes()


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def register(client, email="artisan@example.com", password="correct horse battery"):
    """Register through the form and finish with the emailed link, as a person does; returns a CSRF token."""
    token = csrf_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={"email": email, "password": password,
                                              "confirm": password, "csrf_token": token})
    assert response.status_code == 200 and "Check your email" in response.get_data(as_text=True), \
        response.get_data(as_text=True)
    follow_verification_link(client, email, password)
    return csrf_from(client.get("/products/new").get_data(as_text=True))


def follow_verification_link(client, email, password="correct horse battery"):
    """Open the last verification link emailed to `email`, type the password chosen at registration
    and press the button (signs in)."""
    link = emailed_link(client.application, email, "/verify/")
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    response = client.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                       "password": password})
    assert response.status_code == 302 and response.headers["Location"].endswith("/products"), \
        (response.status_code, response.headers.get("Location"))
    return response


def emailed_link(app, email, path):
    """The last link to `path` emailed to `email` (apps built with TESTING keep an outbox)."""
    for message in reversed(app.extensions.get("mail_outbox", [])):
        if message["To"] == email:
            found = re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", message.get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no email to {email} with a {path} link")


def upload_photo(client, token, data: bytes, content_type="image/jpeg", filename="ring.jpg",
                 declared_size=None):
    """Do what the browser does: create, POST straight to storage, confirm."""
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": filename, "content_type": content_type,
        "size": len(data) if declared_size is None else declared_size})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    upload = body["upload"]
    stored = post_to_storage(client, upload, data, filename, content_type)
    return body, stored


def post_to_storage(client, upload, data, filename, content_type):
    """POST the file with the signed fields, to S3 over HTTP or to the local store in-process."""
    files = {"file": (filename, data, content_type)}
    if upload["url"].startswith("http"):
        return requests.post(upload["url"], data=upload["fields"], files=files, timeout=30)
    form = dict(upload["fields"])
    form["file"] = (io.BytesIO(data), filename, content_type)
    return client.post(upload["url"], data=form, content_type="multipart/form-data")


def wait_for_job(client, status_url, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = client.get(status_url).get_json()
        if body["state"] in ("ready", "failed"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"job did not finish in {timeout}s: {body}")
