"""Rate limits that hold under attack: a made-up X-Forwarded-For buys no new bucket."""
import uuid

import pytest
from sqlalchemy import func, select

from tests.faults import isolated_app
from tests.support import csrf_from
from webapp.extensions import db
from webapp.models import User

LOW_LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute",
              "RATELIMIT_REGISTER": "2 per hour", "RATELIMIT_UPLOAD": "3 per minute"}


def address() -> str:
    return "10.{}.{}.{}".format(*uuid.uuid4().bytes[:3])


@pytest.fixture(params=[None, 1], ids=["default-no-proxy", "behind-router"])
def limited(request, app, service_env):
    """Low limits counting in Redis; the default set-up (no proxy) and one router in front."""
    hops = {} if request.param is None else {"PROXY_FIX_HOPS": request.param}
    with isolated_app(service_env, {**LOW_LIMITS, **hops}) as web:
        yield web, request.param is not None


def spoofing_client(web, behind_router: bool):
    """A client at one real address that claims a new one in X-Forwarded-For each time.

    Straight to the app (the default set-up) its connection's address is the real one; behind
    the router the connection comes from the router, which appends the real address."""
    client = web.test_client()
    real = address()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1" if behind_router else real

    def headers():
        claimed = address()
        return {"X-Forwarded-For": f"{claimed}, {real}" if behind_router else claimed}
    return client, headers


def test_spoofed_forwarded_addresses_do_not_escape_the_sign_in_limit(limited):
    limited, behind_router = limited
    client, headers = spoofing_client(limited, behind_router)
    token = csrf_from(client.get("/login").get_data(as_text=True))
    statuses = [client.post("/login", headers=headers(), data={
        "email": f"guess{n}@example.com", "password": "wrong", "csrf_token": token}).status_code
        for n in range(6)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}


def test_spoofed_forwarded_addresses_do_not_escape_the_registration_limit(limited):
    limited, behind_router = limited
    client, headers = spoofing_client(limited, behind_router)
    statuses = []
    for n in range(4):
        fresh = limited.test_client()
        fresh.environ_base.update(client.environ_base)
        token = csrf_from(fresh.get("/register").get_data(as_text=True))
        email = f"spoof{n}-{uuid.uuid4().hex[:6]}@example.com"
        statuses.append(fresh.post("/register", headers=headers(), data={
            "email": email, "password": "correct horse battery staple",
            "confirm": "correct horse battery staple", "csrf_token": token}).status_code)
    assert statuses[2:] == [429, 429]
    with limited.app_context():
        assert db.session.scalar(select(func.count(User.id))
                                 .where(User.email.like("spoof%"))) == 2
