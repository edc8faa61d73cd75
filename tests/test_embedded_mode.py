"""`make run` needs no servers: SQLite, the local folder store and a folder broker, with a real worker."""
import os
import subprocess
import sys

import pytest

from tests.harness import stop_group
from tests.support import drawn_ring_jpeg, register, start_worker, upload_photo, wait_for_job
from webapp import create_app
from webapp.settings import ROOT

NO_SERVERS = {"DATABASE_URL": "", "DB_HOST": "", "REDIS_URL": "", "S3_BUCKET_NAME": "",
              "CELERY_BROKER_URL": "", "SECRET_KEY": "embedded-test"}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, model_dir):
    instance = tmp_path_factory.mktemp("embedded")
    env = {**NO_SERVERS, "INSTANCE_PATH": str(instance), "MODEL_DIR": str(model_dir),
           "CELERY_QUEUE": "listings"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp:create_app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    app = create_app({"TESTING": True}, env=env)
    worker = start_worker(env)
    yield app
    stop_group(worker)


def test_upload_to_listing_with_no_servers(embedded):
    app = embedded
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["CELERY_BROKER_URL"] == "filesystem://"
    client = app.test_client()
    token = register(client)
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert body["upload"]["url"] == "/local-store/upload"
    assert stored.status_code == 204
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202

    done = wait_for_job(client, body["status_url"])

    assert done["state"] == "ready", done
    assert done["listing"]["title"] and done["listing"]["description"]
    page = client.get(body["product_url"]).get_data(as_text=True)
    thumb_url = page.split('src="/local-store/objects/')[1].split('"')[0]
    image = client.get("/local-store/objects/" + thumb_url.replace("&amp;", "&"))
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
