#!/usr/bin/env python3
"""Smoke-check that the local S3 server enforces presigned-POST policy conditions
and answers CORS for browser uploads.

    scripts/s3_server.sh start 4599 .s3-data
    .venv/bin/python scripts/check_s3_post_policy.py --endpoint http://127.0.0.1:4599

Exit status 0 only if every "MUST" check passes; "INFO" lines document behaviour
that differs from real S3 but that tests should not rely on either way.
"""
import argparse
import sys
import time
import uuid

import boto3
import requests
from botocore.config import Config

ORIGIN = "http://127.0.0.1:5000"
MAX = 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", default="http://127.0.0.1:4599")
    args = ap.parse_args()

    s3 = boto3.client(
        "s3",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"),
    )
    bucket = f"check-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    failures = []

    def presign(key, expires=300, content_type="image/jpeg"):
        return s3.generate_presigned_post(
            bucket,
            key,
            Fields={"Content-Type": content_type},
            Conditions=[
                ["content-length-range", 1, MAX],
                ["starts-with", "$Content-Type", "image/"],
                {"key": key},
            ],
            ExpiresIn=expires,
        )

    def post(p, body, fields_override=None, origin=None, filename="a.jpg"):
        fields = dict(p["fields"])
        fields.update(fields_override or {})
        headers = {"Origin": origin} if origin else {}
        return requests.post(
            p["url"], data=fields, files={"file": (filename, body)}, headers=headers, timeout=10
        )

    def check(kind, name, resp, expected, note=""):
        ok = resp.status_code == expected
        code = ""
        if resp.status_code >= 300 and "<Code>" in resp.text:
            code = resp.text.split("<Code>")[1].split("</Code>")[0]
        flag = "ok  " if ok else ("FAIL" if kind == "MUST" else "diff")
        print(f"[{flag}] {kind} {name}: got {resp.status_code} {code} (expected {expected}) {note}")
        if not ok and kind == "MUST":
            failures.append(name)

    key = "uploads/u1/photo.jpg"
    p = presign(key)
    print("presigned url:", p["url"])
    check("MUST", "valid upload", post(p, b"x" * 100), 204)
    head = s3.head_object(Bucket=bucket, Key=key)
    print(f"       stored: size={head['ContentLength']} content-type={head['ContentType']}")

    check("MUST", "oversize", post(presign(key), b"x" * (MAX + 1)), 400)
    check("MUST", "empty file (< min)", post(presign(key), b""), 400)
    check("MUST", "wrong content type", post(presign(key), b"x" * 10, {"Content-Type": "text/html"}), 403)
    check("MUST", "wrong key", post(presign(key), b"x" * 10, {"key": "uploads/other/evil.jpg"}), 403)
    p_exp = presign(key, expires=1)
    time.sleep(2.2)
    check("MUST", "expired policy", post(p_exp, b"x" * 10), 403)

    # Things real S3 rejects but LocalStack (4.13.1) is known to be lax about:
    p = presign(key)
    check("INFO", "tampered signature", post(p, b"x" * 10, {"x-amz-signature": "0" * 64}), 403,
          "(real S3: 403 SignatureDoesNotMatch)")
    check("INFO", "extra form field not in policy", post(presign(key), b"x" * 10, {"x-amz-meta-foo": "bar"}), 403,
          "(real S3: 403)")
    r = requests.post(p["url"], data={"key": "nopolicy.txt"}, files={"file": ("a", b"abc")}, timeout=10)
    check("INFO", "POST without any policy/signature", r, 403, "(real S3 on a private bucket: 403)")

    # CORS: browser POSTs directly from the app origin.
    def preflight():
        return requests.options(
            f"{args.endpoint}/{bucket}",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )

    r = preflight()
    print(f"       preflight before PutBucketCors: {r.status_code} ACAO={r.headers.get('Access-Control-Allow-Origin')}")
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": [ORIGIN],
                    "AllowedMethods": ["POST", "GET", "PUT"],
                    "AllowedHeaders": ["*"],
                    "ExposeHeaders": ["ETag", "Location"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )
    print("       get_bucket_cors:", s3.get_bucket_cors(Bucket=bucket)["CORSRules"])
    r = preflight()
    acao = r.headers.get("Access-Control-Allow-Origin")
    print(f"       preflight after PutBucketCors:  {r.status_code} ACAO={acao} "
          f"methods={r.headers.get('Access-Control-Allow-Methods')}")
    check("MUST", "CORS preflight from allowed origin", r, 200)
    if acao != ORIGIN:
        failures.append("preflight ACAO")
        print("[FAIL] preflight ACAO header missing/wrong")
    r = post(presign(key), b"x" * 10, origin=ORIGIN)
    acao = r.headers.get("Access-Control-Allow-Origin")
    print(f"       actual POST with Origin: {r.status_code} ACAO={acao}")
    if acao != ORIGIN:
        failures.append("POST ACAO")
        print("[FAIL] POST response ACAO header missing/wrong")
    r = requests.options(
        f"{args.endpoint}/{bucket}",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    print(f"       preflight from other origin: {r.status_code} ACAO={r.headers.get('Access-Control-Allow-Origin')}")

    print("RESULT:", "PASS" if not failures else f"FAIL {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
