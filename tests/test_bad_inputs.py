"""The bad-input corpus (tests/bad_inputs.py): a clear message, no crash, nothing left behind.

Unusable files fail their job with a reason the artisan reads, and their object is
deleted. Usable ones are stored only as a re-encoded copy (upright, no metadata, nothing
after the image data); the browser's bytes are deleted.
"""
import io

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from tests.bad_inputs import CORPUS, ODD_FILENAMES, SCRIPT, bomb_png, png_16bit_rgb
from tests.support import post_to_storage, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.models import GeneratedListing, Job, Photo, Product
from webapp.storage import get_store
from workers.photos import BadPhoto, decode_photo, stored_jpeg

pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_decoder_gives_each_file_a_clear_answer(name):
    data, _, (outcome, words) = CORPUS[name]
    if outcome == "failed":
        with pytest.raises(BadPhoto, match=words):
            decode_photo(data)
    else:
        image = decode_photo(data)
        assert image.mode == "RGB" and min(image.size) >= 32


def test_exif_rotated_photo_is_decoded_upright():
    assert decode_photo(CORPUS["exif-rotated-with-gps"][0]).size == (240, 320)


def test_16_bit_and_transparent_pngs_keep_their_colours():
    grey = decode_photo(CORPUS["16-bit-grey-png"][0]).getpixel((0, 0))
    assert grey == (117, 117, 117)  # 30000/65535 of full scale, not clipped to white
    assert decode_photo(png_16bit_rgb()).getpixel((0, 0)) == (192, 128, 64)
    palette = decode_photo(CORPUS["palette-png-transparent"][0])
    assert palette.getpixel((0, 0)) == (255, 255, 255)  # transparent becomes white, not black
    assert palette.getpixel((32, 32)) == (212, 175, 55)


def test_bomb_beyond_pillows_own_limit_is_refused_not_crashed():
    with pytest.raises(BadPhoto, match="too large"):
        decode_photo(bomb_png(side=20000))  # 400 megapixels: Pillow itself refuses to open it


def test_stored_copy_has_no_metadata_and_nothing_after_the_image():
    image = decode_photo(CORPUS["polyglot-jpeg-html"][0])
    stored = stored_jpeg(decode_photo(CORPUS["exif-rotated-with-gps"][0]))
    assert not Image.open(io.BytesIO(stored)).getexif()
    assert SCRIPT not in stored_jpeg(image) and stored.endswith(b"\xff\xd9")


def _upload_corpus_file(client, token, name):
    data, content_type, _ = CORPUS[name]
    return upload_photo(client, token, data, content_type=content_type,
                        filename=f"{name}.jpg")


@pytest.mark.parametrize("name", sorted(n for n in CORPUS if n != "empty"))
def test_corpus_file_through_the_worker(app, client, worker, name):
    _, _, (outcome, words) = CORPUS[name]
    token = register(client)
    body, stored = _upload_corpus_file(client, token, name)
    assert stored.status_code == 204, stored.text
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202

    done = wait_for_job(client, body["status_url"], timeout=180)

    assert done["state"] == outcome, done
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        photo, store = job.photo, get_store()
        listings = db.session.scalar(select(func.count()).select_from(GeneratedListing))
        if outcome == "failed":
            assert words in done["error"]
            assert store.head(photo.object_key) is None  # the unusable object is gone
            assert photo.thumbnail_key is None and listings == 0
            page = client.get(body["product_url"]).get_data(as_text=True)
            assert words in page
        else:
            assert listings == 1
            assert photo.object_key.endswith(".photo.jpg") and photo.content_type == "image/jpeg"
            original_key = photo.object_key.replace(".photo.jpg", ".jpg")
            assert store.head(original_key) is None  # the browser's bytes are not kept
            kept = store.read(photo.object_key)
            thumb = store.read(photo.thumbnail_key)
            for copy in (kept, thumb):
                image = Image.open(io.BytesIO(copy))
                assert image.format == "JPEG" and not image.getexif()
                assert SCRIPT not in copy and b"PhoneMaker" not in copy
            assert (photo.width, photo.height) == Image.open(io.BytesIO(kept)).size
            if name == "exif-rotated-with-gps":
                assert (photo.width, photo.height) == (240, 320)  # shown and analysed upright


def test_empty_file_is_refused_by_the_upload_and_the_storage_policy(app, client):
    token = register(client)
    refused = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "empty.jpg", "content_type": "image/jpeg", "size": 0})
    assert refused.status_code == 400 and "empty" in refused.get_json()["error"]
    # A browser that lies about the size meets the signed policy (1 byte minimum).
    body, stored = upload_photo(client, token, b"", declared_size=10)
    assert stored.status_code == 400
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 400
    assert client.post(body["cancel_url"], headers={"X-CSRFToken": token}).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_50_mb_file_is_refused_by_the_storage_policy_itself(app, client):
    token = register(client)
    big = b"\xff\xd8\xff" + b"\0" * (50 * 1024 * 1024)
    body, stored = upload_photo(client, token, big, declared_size=1024 * 1024)
    assert stored.status_code == 400 and "EntityTooLarge" in stored.text
    assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 400
    assert client.post(body["cancel_url"], headers={"X-CSRFToken": token}).status_code == 204
    with app.app_context():
        for model in (Product, Photo, Job):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0
        key = body["upload"]["fields"]["key"]
        assert get_store().head(key) is None


@pytest.mark.parametrize("content_type", ["image/avif", "image/gif", "image/svg+xml"])
def test_unsupported_types_are_named_before_anything_is_stored(app, client, content_type):
    token = register(client)
    response = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "IMG_0001.HEIC", "content_type": content_type, "size": 2000})
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "JPEG, PNG, WebP or HEIC" in message
    if "avif" in content_type:
        assert "unsupported format" in message
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Product)) == 0


@pytest.mark.parametrize("filename", ODD_FILENAMES, ids=["traversal", "backslashes", "unicode",
                                                         "very-long", "control-chars", "script",
                                                         "empty"])
def test_odd_file_names_never_reach_the_key_and_are_kept_only_for_display(app, client, filename):
    token = register(client)
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": filename, "content_type": "image/jpeg", "size": 2000})
    assert created.status_code == 201
    body = created.get_json()
    key = body["upload"]["fields"]["key"]
    with app.app_context():
        job = db.session.get(Job, body["job_id"])
        owner_prefix = f"{app.config['S3_PREFIX']}uploads/{job.product.owner_id}/"
        name = key[len(owner_prefix):]
        assert key.startswith(owner_prefix) and len(name) == 36 and name.endswith(".jpg")
        shown = job.photo.original_filename
        if shown is not None:
            assert len(shown) <= 255 and "/" not in shown and "\\" not in shown
            assert not any(ord(c) < 32 for c in shown)
    if filename.startswith("bague"):
        assert shown == filename
    page = client.get(body["product_url"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page


def test_storage_serves_the_upload_only_with_the_signed_fields(app, client):
    """The signed form pins the key: a browser cannot write next to, or over, another key."""
    token = register(client)
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "r.jpg", "content_type": "image/jpeg", "size": 100})
    upload = created.get_json()["upload"]
    forged = dict(upload, fields={**upload["fields"], "key": "media/uploads/1/../../evil.jpg"})
    response = post_to_storage(client, forged, b"\xff\xd8\xff" * 10, "r.jpg", "image/jpeg")
    assert response.status_code == 403
    other_type = dict(upload, fields={**upload["fields"], "Content-Type": "text/html"})
    response = post_to_storage(client, other_type, b"<html>", "r.html", "text/html")
    assert response.status_code == 403
    assert isinstance(response, requests.Response)
