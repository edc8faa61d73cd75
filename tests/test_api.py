"""The JSON API against the running app (a real HTTP server), every request and response
checked against webapp/api/openapi.yaml with openapi-core."""
import hashlib
import re
import time

import pytest
import requests
import yaml
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from sqlalchemy import select

from ml.taxonomy import DEFAULT
from tests.support import csrf_from, drawn_ring_jpeg, register
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.settings import ROOT

SPEC_PATH = ROOT / "webapp" / "api" / "openapi.yaml"
SPEC = OpenAPI.from_file_path(str(SPEC_PATH))


class Api:
    """Calls the live app and fails the test on any request or response the spec does not allow."""

    def __init__(self, base, token=None):
        self.base, self.token = base, token

    def call(self, method, path, documented=True, **kwargs):
        """documented: check the response (and a successful call's request) against the spec;
        "request": check the request even for an error; False: only the error shape."""
        headers = kwargs.pop("headers", {})
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        response = requests.request(method, self.base + "/api/v1" + path, headers=headers,
                                    timeout=30, **kwargs)
        assert response.headers["Content-Type"].startswith(("application/json", "application/yaml"))
        if documented:
            if response.status_code < 400 or documented == "request":
                SPEC.validate_request(RequestsOpenAPIRequest(response.request))
            SPEC.validate_response(RequestsOpenAPIRequest(response.request),
                                   RequestsOpenAPIResponse(response))
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) == {"status", "code", "message"} and error["status"] == response.status_code
        return response


def token_from_settings_page(client, name="shop sync") -> str:
    token = csrf_from(client.get("/account/").get_data(as_text=True))
    page = client.post("/account/tokens", data={"name": name, "csrf_token": token})
    assert page.status_code == 201
    return re.search(r'<code id="new-token">([^<]+)</code>', page.get_data(as_text=True)).group(1)


@pytest.fixture
def api(app, client, live_server):
    register(client)
    return Api(live_server, token_from_settings_page(client))


def test_tokens_are_stored_hashed_and_shown_once(app, client, api):
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(api.token.encode()).hexdigest()
        assert api.token not in (row.token_hash, row.prefix, row.name)
    assert api.token not in client.get("/account/").get_data(as_text=True)


def test_upload_confirm_and_read_back(api, service_env):
    photo = drawn_ring_jpeg()
    created = api.call("POST", "/uploads", json={"filename": "ring.jpg", "content_type": "image/jpeg",
                                                 "size": len(photo)})
    assert created.status_code == 201
    body = created.json()
    assert body["upload"]["url"].startswith(service_env["S3_ENDPOINT_URL"])
    stored = requests.post(body["upload"]["url"], data=body["upload"]["fields"],
                           files={"file": ("ring.jpg", photo, "image/jpeg")}, timeout=30)
    assert stored.status_code == 204, stored.text
    confirmed = api.call("POST", f"/uploads/{body['job']['id']}/confirm")
    # Queued, or already taken by a worker if one runs in this session.
    assert confirmed.status_code == 202 and confirmed.json()["state"] in ("queued", "processing", "ready")
    assert api.call("GET", f"/jobs/{body['job']['id']}").json()["id"] == body["job"]["id"]
    listing = api.call("GET", "/products").json()
    assert listing["total"] == 1 and listing["items"][0]["id"] == body["product_id"]
    product = api.call("GET", f"/products/{body['product_id']}").json()
    assert product["status"] == "draft" and product["job"]["id"] == body["job"]["id"]


def finished(api, job_id) -> dict:
    for _ in range(600):
        job = api.call("GET", f"/jobs/{job_id}").json()
        if job["state"] in ("ready", "failed"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def uploaded_and_ready(api) -> dict:
    """Upload a drawn ring through the API and wait for the real worker's listing."""
    photo = drawn_ring_jpeg()
    body = api.call("POST", "/uploads", json={"content_type": "image/jpeg", "size": len(photo)}).json()
    requests.post(body["upload"]["url"], data=body["upload"]["fields"],
                  files={"file": ("ring.jpg", photo, "image/jpeg")}, timeout=30)
    api.call("POST", f"/uploads/{body['job']['id']}/confirm")
    job = finished(api, body["job"]["id"])
    assert job["state"] == "ready", job
    return body


def test_a_finished_job_reads_back_as_a_full_listing(api, worker):
    body = uploaded_and_ready(api)
    product = api.call("GET", f"/products/{body['product_id']}").json()
    assert product["title"] and product["generated"]["title"] == product["title"]
    assert set(product["attributes"]) == set(product["generated"]["attributes"])
    assert product["photos"][0]["thumbnail_url"]
    for attr in product["attributes"].values():
        # the test starter is uncalibrated, so every value it predicts asks for a check
        assert attr["low_confidence"] is True and attr["source"] == "model"


def test_edit_regenerate_and_submit_through_the_api(api, worker):
    path = f"/products/{uploaded_and_ready(api)['product_id']}"
    edited = api.call("PATCH", path, json={"title": "Hand-forged silver band", "attributes": {"metal": "silver"},
                                           "confirm": ["category"], "tags": ["silver ring", " band "]}).json()
    assert edited["title"] == "Hand-forged silver band" and edited["tags"] == ["silver ring", "band"]
    assert edited["attributes"]["metal"] == {**edited["attributes"]["metal"], "value": "silver", "confirmed": True,
                                             "low_confidence": False}
    assert edited["attributes"]["category"]["confirmed"]
    assert set(edited["edited_fields"]) >= {"title", "tags", "attributes.metal", "attributes.category"}

    refused = api.call("PATCH", path, json={"attributes": {"metal": "unobtainium"}})
    assert refused.status_code == 422 and "silver" in refused.json()["error"]["message"]
    assert api.call("PATCH", path, json={"title": " "}, documented=False).status_code == 422
    assert api.call("PATCH", "/products/999999", json={"title": "x"}).status_code == 404
    assert api.call("POST", path + "/regenerate", json={"tone": "loud"}, documented=False).status_code == 422

    job = api.call("POST", path + "/regenerate", json={"tone": "playful", "length": "short"})
    assert job.status_code == 202 and job.json()["kind"] == "regenerate"
    assert finished(api, job.json()["id"])["state"] == "ready"
    again = api.call("GET", path).json()
    assert again["tone"] == "playful" and again["title"] == "Hand-forged silver band"  # a person's field stays
    assert again["attributes"]["metal"]["value"] == "silver"

    submitted = api.call("POST", path + "/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "in_review"
    twice = api.call("POST", path + "/submit")
    assert twice.status_code == 409 and "reviewers" in twice.json()["error"]["message"]


def test_the_sellers_facts_and_corrections_are_what_the_api_regeneration_writes(api, worker):
    """PATCH to earrings in gold with pearls plus the seller's details, regenerate: the new text
    says earrings, gold and pearl, quotes the details word for word and invents none."""
    path = f"/products/{uploaded_and_ready(api)['product_id']}"
    facts = {"price": "49.90", "currency": "eur", "quantity": 3, "sku": "EAR-07", "size": "18 mm drop",
             "weight": "3 g the pair", "materials": "18k gold vermeil over 925 silver", "technique": "hand-forged",
             "origin": "Lisbon, Portugal", "care": "keep dry", "story": "drawn from my mother's pearl studs"}
    edited = api.call("PATCH", path, json={"attributes": {"category": "earrings", "metal": "gold",
                                                          "gemstone": "pearl"}, "facts": facts}).json()
    assert edited["facts"] == {**facts, "currency": "EUR"}
    for bad in ({"price": "lots", "currency": "EUR"}, {"price": "5", "currency": None}, {"quantity": -1},
                {"colour": "red"},
                {"size": "x" * 121}, {"story": ["a list"]}):
        refused = api.call("PATCH", path, json={"facts": bad})
        assert refused.status_code == 422, bad
    job = api.call("POST", path + "/regenerate", json={"tone": "elegant", "length": "long",
                                                       "replace": ["description", "title", "tags"]})
    assert finished(api, job.json()["id"])["state"] == "ready"
    product = api.call("GET", path).json()
    text = product["description"]
    assert "earrings" in product["title"].lower() and "earrings" in text.lower() and "gold" in text.lower()
    assert "pearl" in text.lower() and "gold earrings" in product["tags"]
    told = [facts[k] for k in ("materials", "technique", "origin", "size", "weight")]
    assert sum(v in text for v in told) >= 4, text  # a long text has room for most details, word for word
    assert "49.90" not in text and "EAR-07" not in text  # price and SKU stay in their own fields
    cleared = api.call("PATCH", path, json={"facts": {"price": None, "currency": None, "story": ""}}).json()
    assert cleared["facts"]["price"] is None and cleared["facts"]["story"] is None


def test_add_a_photo_to_an_existing_product(api):
    first = api.call("POST", "/uploads", json={"content_type": "image/jpeg", "size": 10}).json()
    second = api.call("POST", "/uploads", json={"content_type": "image/png", "size": 10,
                                                "product_id": first["product_id"]})
    assert second.status_code == 201
    assert second.json()["product_id"] == first["product_id"] and second.json()["job"]["kind"] == "photo"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer jai_not-a-real-token"},
                                     {"Authorization": "Basic dXNlcjpwYXNz"}],
                         ids=["missing", "unknown", "wrong-scheme"])
def test_requests_without_a_valid_token_get_401(live_server, app, headers):
    response = Api(live_server).call("GET", "/products", headers=headers, documented=False)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_stops_working(app, client, api):
    assert api.call("GET", "/products").status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    page_token = csrf_from(client.get("/account/").get_data(as_text=True))
    assert client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": page_token}).status_code == 302
    assert api.call("GET", "/products").status_code == 401


def test_errors_have_one_shape_and_proper_codes(api):
    cases = [
        (("POST", "/uploads"), {"json": {"content_type": "image/gif", "size": 10}}, 422, "upload_refused", True),
        (("POST", "/uploads"), {"json": {"size": 10}}, 422, "invalid", True),
        (("POST", "/uploads"), {"data": "not json", "headers": {"Content-Type": "text/plain"}}, 400,
         "bad_request", False),
        (("GET", "/products/999999"), {}, 404, "not_found", "request"),
        (("GET", "/jobs/nope"), {}, 404, "not_found", "request"),
        (("POST", "/uploads/nope/confirm"), {}, 404, "not_found", "request"),
        (("GET", "/products"), {"params": {"per_page": 1000}}, 422, "invalid", True),
        (("GET", "/no-such-endpoint"), {}, 404, "not_found", False),
        (("DELETE", "/products"), {}, 405, "method_not_allowed", False),
    ]
    for (method, path), kwargs, status, code, documented in cases:
        response = api.call(method, path, documented=documented, **kwargs)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (method, path)


def test_confirming_before_the_file_arrived_is_a_conflict(api):
    body = api.call("POST", "/uploads", json={"content_type": "image/jpeg", "size": 10}).json()
    response = api.call("POST", f"/uploads/{body['job']['id']}/confirm")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_uploaded"


def test_the_document_is_valid_and_covers_every_api_route(app, live_server):
    from openapi_spec_validator import validate

    document = yaml.safe_load(SPEC_PATH.read_text())
    validate(document)
    served = requests.get(live_server + "/api/v1/openapi.yaml", timeout=10)
    assert served.status_code == 200
    served_doc = yaml.safe_load(served.text)
    validate(served_doc)
    # Served with the promoted taxonomy's values (the default here) enumerated, the rest as written.
    values = served_doc["components"]["schemas"].pop("AttributeValues")
    assert values["properties"]["category"]["enum"] == list(DEFAULT.values("category"))
    assert values["additionalProperties"] is False and "watch" in values["properties"]["category"]["enum"]
    document["components"]["schemas"].pop("AttributeValues")
    assert served_doc == document
    documented = {(m.upper(), "/api/v1" + re.sub(r"\{(\w+)\}", r"<\1>", p))
                  for p, ops in document["paths"].items() for m in ops}
    routed = {(m, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", r.rule)) for r in app.url_map.iter_rules()
              if r.rule.startswith("/api/") for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == routed
