"""Object storage behind one interface: S3 (or any S3-compatible server) or a local folder.

Both speak the same browser-upload protocol: a form POST carrying a signed,
expiring policy that limits the key, the size and the content type. The web
process only signs; file bytes go straight from the browser to the store.
"""
from flask import Blueprint, current_app

from webapp.instance_keys import instance_key
from webapp.storage.local import LocalStore
from webapp.storage.s3 import S3Store


def s3_credentials(config) -> dict:
    """boto3's keyword arguments for the keys in the settings (None: boto3's own lookup)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return {name.lower(): config.get(name) for name in names}


def create_store(config):
    """Build the store the configuration asks for."""
    if config.get("S3_BUCKET_NAME"):
        return S3Store(
            bucket=config["S3_BUCKET_NAME"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("AWS_REGION", "us-east-1"),
            credentials=s3_credentials(config),
        )
    key = config.get("LOCAL_STORE_KEY") or instance_key(config["INSTANCE_PATH"], "local_store_key")
    return LocalStore(root=config["LOCAL_STORAGE_PATH"], key=key)


def get_store():
    """The store bound to the current app (one per process)."""
    return current_app.extensions["object_store"]


def init_store(app):
    app.extensions["object_store"] = create_store(app.config)


def object_key(config, owner_id: int, name: str) -> str:
    """Server-chosen key under the owner's prefix; the browser's file name is never used."""
    return f"{config.get('S3_PREFIX', '')}uploads/{owner_id}/{name}"


# The worker's copies of an upload: `<base>.photo.jpg` (the clean copy kept and shown) and
# `<base>.thumb.jpg`. No upload form is ever signed for such a key (uploads are `<base>.<ext>`),
# and the reaper's sweep of originals (workers/orphans.py) never mistakes one for an upload.
CLEAN_SUFFIX, THUMB_SUFFIX = ".photo.jpg", ".thumb.jpg"


def copy_keys(source_key: str) -> tuple[str, str, bool]:
    """(thumbnail key, clean copy key, whether the upload is the clean copy already).

    Derived from the upload's key, so a second run writes the same objects."""
    already_clean = source_key.endswith(CLEAN_SUFFIX)
    base = source_key[:-len(CLEAN_SUFFIX)] if already_clean else source_key.rsplit(".", 1)[0]
    return base + THUMB_SUFFIX, base + CLEAN_SUFFIX, already_clean


# The local store's S3-like endpoints (routes.py) hang on this blueprint.
bp = Blueprint("local_store", __name__, url_prefix="/local-store")
