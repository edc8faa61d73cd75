"""The local store must refuse exactly what S3 refuses under a presigned POST policy."""
import io

import pytest

from webapp import create_app


@pytest.fixture
def local_app(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "LOCAL_STORAGE_PATH": str(tmp_path / "objects"), "S3_BUCKET_NAME": "",
                      "CELERY_BROKER_URL": "memory://", "TESTING": True})
    from webapp.storage import create_store

    app.extensions["object_store"] = create_store(app.config)
    return app


def _post(app, key="uploads/1/a.jpg", data=b"\xff\xd8 photo", content_type="image/jpeg",
          max_bytes=100, expires=60, tamper=None):
    store = app.extensions["object_store"]
    with app.test_request_context():
        post = store.presign_upload(key, content_type, max_bytes, expires)
    fields = dict(post["fields"])
    fields.update(tamper or {})
    fields["file"] = (io.BytesIO(data), "a.jpg", content_type)
    return app.test_client().post(post["url"], data=fields, content_type="multipart/form-data")


def test_signed_upload_is_stored(local_app):
    assert _post(local_app).status_code == 204
    assert local_app.extensions["object_store"].head("uploads/1/a.jpg")["size"] == 8


def test_oversize_is_refused_with_400(local_app):
    response = _post(local_app, data=b"x" * 101)
    assert response.status_code == 400 and b"EntityTooLarge" in response.data


def test_empty_file_is_refused(local_app):
    assert _post(local_app, data=b"").status_code == 400


@pytest.mark.parametrize("tamper", [{"key": "uploads/2/evil.jpg"}, {"Content-Type": "text/html"},
                                    {"x-amz-signature": "0" * 64}])
def test_tampered_fields_are_refused_with_403(local_app, tamper):
    assert _post(local_app, tamper=tamper).status_code == 403
    assert local_app.extensions["object_store"].head("uploads/2/evil.jpg") is None


def test_expired_policy_is_refused(local_app):
    assert _post(local_app, expires=-1).status_code == 403


def test_keys_cannot_escape_the_store(local_app):
    with pytest.raises(ValueError):
        local_app.extensions["object_store"].head("../../etc/passwd")
