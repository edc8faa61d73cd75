"""A folder on disk that accepts the same signed form POST as S3, for a server-less first run.

The policy is S3's: base64 JSON with an expiration and conditions (exact key,
content type, content-length-range), signed with HMAC-SHA256. The upload
endpoint lives in `webapp.storage.routes` and checks all of it.
"""
import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import url_for

from webapp.storage.errors import ObjectChanged


class PolicyError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _etag(data: bytes) -> str:
    """S3's ETag for an object written in one piece: the MD5 of its bytes, quoted."""
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


class LocalStore:
    kind = "local"

    def __init__(self, root, key: str):
        """`key` is the store's own signing key (not the app's SECRET_KEY)."""
        self.root = Path(root)
        self._key = key.encode()

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("object key escapes the store")
        return path

    def presign_upload(self, key, content_type, max_bytes, expires):
        expiration = datetime.now(UTC) + timedelta(seconds=expires)
        policy = {
            "expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "conditions": [{"key": key}, {"Content-Type": content_type},
                           ["content-length-range", 1, max_bytes]],
        }
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        return {
            "url": url_for("local_store.upload", _external=False),
            "fields": {"key": key, "Content-Type": content_type, "policy": encoded,
                       "x-amz-signature": self._sign(encoded)},
        }

    def accept_post(self, form, file_bytes: bytes) -> str:
        """Check a browser POST against its signed policy and store the file; return the key."""
        encoded = form.get("policy", "")
        if not hmac.compare_digest(self._sign(encoded), form.get("x-amz-signature", "")):
            raise PolicyError(403, "SignatureDoesNotMatch", "The upload signature is not valid.")
        policy = json.loads(base64.b64decode(encoded))
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")
        if expiration.replace(tzinfo=UTC) < datetime.now(UTC):
            raise PolicyError(403, "AccessDenied", "The upload form has expired.")
        for condition in policy["conditions"]:
            if isinstance(condition, dict):
                (field, expected), = condition.items()
                if form.get(field) != expected:
                    raise PolicyError(403, "AccessDenied", f"Policy condition failed: {field}")
            elif condition[0] == "content-length-range":
                if not condition[1] <= len(file_bytes) <= condition[2]:
                    code = "EntityTooLarge" if len(file_bytes) > condition[2] else "EntityTooSmall"
                    raise PolicyError(400, code, "The file size is outside the allowed range.")
        self.write(form["key"], file_bytes, form["Content-Type"])
        return form["key"]

    def head(self, key):
        path = self._path(key)
        if not path.exists():
            return None
        meta = path.with_name(path.name + ".type")
        return {"size": path.stat().st_size,
                "content_type": meta.read_text() if meta.exists() else "",
                "etag": _etag(path.read_bytes())}

    def read(self, key, max_bytes=None, if_match=None):
        """As S3Store.read: with `if_match`, only if the object's ETag is still that."""
        with open(self._path(key), "rb") as fh:
            data = fh.read()
        if if_match and _etag(data) != if_match:
            raise ObjectChanged(key)
        return data[:max_bytes + 1] if max_bytes else data

    def write(self, key, data, content_type):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.with_name(path.name + ".type").write_text(content_type)

    def delete(self, key):
        path = self._path(key)
        for p in (path, path.with_name(path.name + ".type")):
            p.unlink(missing_ok=True)

    def delete_many(self, keys) -> dict:
        """Delete several keys; returns {key: error message} for those not deleted (as S3Store does)."""
        errors = {}
        for key in keys:
            try:
                self.delete(key)
            except (OSError, ValueError) as exc:
                errors[key] = str(exc)
        return errors

    def list_keys(self, prefix: str):
        """(key, last modified, aware UTC) of every object under `prefix` (as S3Store.list_keys)."""
        base = self.root.resolve()
        for path in sorted(base.rglob("*")):
            key = path.relative_to(base).as_posix()
            if path.is_file() and not key.endswith(".type") and key.startswith(prefix):
                yield key, datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def url(self, key, expires=3600):
        until = int(time.time()) + expires
        return url_for("local_store.download", key=key, until=until,
                       sig=self._sign(f"{key}:{until}"))

    def check_download(self, key, until, sig) -> bool:
        return until >= time.time() and hmac.compare_digest(self._sign(f"{key}:{until}"), sig)

    def check(self):
        self.root.mkdir(parents=True, exist_ok=True)
