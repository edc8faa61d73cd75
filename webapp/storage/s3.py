"""S3 store via boto3; credentials from the settings' AWS_* keys, else boto3's usual places."""
import time

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from webapp.storage.errors import ObjectChanged


class S3Store:
    kind = "s3"
    # A download URL is signed once and handed out again for this long (a catalogue page
    # shows 24 thumbnails; signing each took about 0.6 ms of botocore). Every URL handed out
    # still has most of its lifetime left, and the same URL lets browsers cache the image.
    URL_REUSE_SECONDS = 600
    URL_CACHE_SIZE = 4096

    def __init__(self, bucket, endpoint_url=None, region="us-east-1", credentials: dict | None = None):
        self.bucket = bucket
        self._urls = {}  # (key, expires) -> (url, signed at)
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            **{k: v for k, v in (credentials or {}).items() if v},
            config=Config(
                signature_version="s3v4",
                # Path-style keeps S3-compatible servers on one host name.
                s3={"addressing_style": "path"} if endpoint_url else {},
                connect_timeout=3,
                read_timeout=10,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def presign_upload(self, key, content_type, max_bytes, expires):
        return self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires,
        )

    def head(self, key):
        try:
            meta = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"size": meta["ContentLength"], "content_type": meta.get("ContentType", ""),
                "etag": meta.get("ETag")}

    def read(self, key, max_bytes=None, if_match=None):
        """The object's bytes (at most max_bytes + 1); with `if_match`, only if its ETag is still that."""
        extra = {"Range": f"bytes=0-{max_bytes}"} if max_bytes else {}
        if if_match:
            extra["IfMatch"] = if_match
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise ObjectChanged(key) from None
            raise

    def write(self, key, data, content_type):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_many(self, keys) -> dict:
        """Delete up to 1000 keys in one request; returns {key: error message} for those not deleted."""
        if not keys:
            return {}
        answer = self.client.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        return {e.get("Key"): f"{e.get('Code')}: {e.get('Message')}" for e in answer.get("Errors", [])}

    def list_keys(self, prefix: str):
        """(key, last modified, aware UTC) of every object under `prefix`, a page at a time."""
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item["LastModified"]

    def url(self, key, expires=3600):
        """A presigned GET URL valid for ``expires`` seconds (at least 5/6 of that when reused)."""
        reuse = min(self.URL_REUSE_SECONDS, expires // 6)
        now = time.monotonic()
        cached = self._urls.get((key, expires))
        if cached is not None and now - cached[1] < reuse:
            return cached[0]
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires)
        if reuse > 0:
            if len(self._urls) >= self.URL_CACHE_SIZE:
                self._urls.clear()  # rare; cheaper than keeping an order for eviction
            self._urls[(key, expires)] = (url, now)
        return url

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)
