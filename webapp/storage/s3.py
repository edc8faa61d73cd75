"""S3 store via boto3; credentials come from the standard AWS_* environment variables."""
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class S3Store:
    kind = "s3"

    def __init__(self, bucket, endpoint_url=None, region="us-east-1"):
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
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
        return {"size": meta["ContentLength"], "content_type": meta.get("ContentType", "")}

    def read(self, key, max_bytes=None):
        extra = {"Range": f"bytes=0-{max_bytes}"} if max_bytes else {}
        return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()

    def write(self, key, data, content_type):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def url(self, key, expires=3600):
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires)

    def check(self):
        self.client.head_bucket(Bucket=self.bucket)
