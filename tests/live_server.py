"""The app on a real HTTP server in a thread, for the browser and the API contract tests.

tests/conftest.py registers this module as a plugin, so any test can ask for `live_server`.
"""
import threading

import boto3
import pytest
from werkzeug.serving import make_server

from tests.harness import free_port


def allow_browser_uploads(service_env: dict, origin: str) -> None:
    """Let the browser POST straight to the test bucket from the app's origin, as on S3."""
    s3 = boto3.client("s3", endpoint_url=service_env["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.put_bucket_cors(Bucket=service_env["S3_BUCKET_NAME"], CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [origin], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"], "MaxAgeSeconds": 600}]})


@pytest.fixture(scope="session")
def live_server(app, service_env):
    """Base URL of the app served by werkzeug on a free port (threaded, like a real server)."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{port}"
    allow_browser_uploads(service_env, origin)
    yield origin
    server.shutdown()
    thread.join(timeout=10)
