"""Rate limits that hold under attack: a made-up X-Forwarded-For buys no new bucket."""
import re
import uuid

import pytest
from sqlalchemy import func, select

from tests.support import csrf_from, isolated_app
from webapp.extensions import db
from webapp.models import User, utcnow

LOW_LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_LOGIN": "3 per minute", "RATELIMIT_REGISTER": "2 per hour",
              "RATELIMIT_UPLOAD": "3 per minute", "RATELIMIT_LOGIN_SITE": "1000 per second"}


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


# --- sign-in under attack -----------------------------------------------------------------

@pytest.fixture
def counted_hashes(monkeypatch):
    """Counts the password hashes checked (the real check still runs)."""
    import webapp.auth.passwords as passwords

    calls = []
    real = passwords.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)
    monkeypatch.setattr(passwords, "check_password_hash", counting)
    return calls


@pytest.fixture
def guarded(app, service_env):
    # Counters of its own: the site-wide cap counts every sign-in of the session's other apps too,
    # and a test meeting it would see the limiter's 429 instead of the behaviour it checks.
    limits = {**LOW_LIMITS, "RATELIMIT_LOGIN": "100 per minute", "RATELIMIT_LOGIN_ACCOUNT": "3 per minute",
              "RATELIMIT_KEY_PREFIX": f"guarded-{uuid.uuid4().hex[:8]}"}
    with isolated_app(service_env, limits) as web:
        yield web


def sign_in(web, email, password, where=None):
    client = web.test_client()
    client.environ_base["REMOTE_ADDR"] = where or address()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def make_account(web, email, password="correct horse battery staple"):
    with web.app_context():
        user = User(email=email, email_verified_at=utcnow())
        user.set_password(password)
        db.session.add(user)
        db.session.commit()


def test_a_flood_of_sign_ins_is_refused_before_any_hashing(limited, counted_hashes):
    web, _ = limited
    where = address()
    victim = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    statuses = [sign_in(web, victim, f"guess{n}", where).status_code for n in range(8)]
    assert statuses[:3] == [200] * 3 and set(statuses[3:]) == {429}
    assert len(counted_hashes) == 3  # the refused five cost no hash


def test_failed_sign_ins_lock_the_account_whatever_the_address(guarded, counted_hashes):
    make_account(guarded, "locked@example.com")
    make_account(guarded, "fine@example.com")
    statuses = [sign_in(guarded, "locked@example.com", f"wrong{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 200]
    hashes = len(counted_hashes)
    locked = sign_in(guarded, "LOCKED@example.com ", "correct horse battery staple")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert len(counted_hashes) == hashes  # not even the right password is checked while locked
    assert sign_in(guarded, "fine@example.com", "correct horse battery staple").status_code == 302
    # Successful sign-ins do not count towards the lockout.
    for _ in range(4):
        assert sign_in(guarded, "fine@example.com", "correct horse battery staple").status_code == 302


def test_known_and_unknown_emails_get_the_same_answer_and_the_same_work(guarded, counted_hashes):
    make_account(guarded, "known@example.com")
    known = sign_in(guarded, "known@example.com", "not the password")
    assert len(counted_hashes) == 1
    unknown = sign_in(guarded, "stranger@example.com", "not the password")
    assert len(counted_hashes) == 2  # a dummy hash for the unknown email: the same time
    strip = lambda r: re.sub(r'value="[^"]*"|content="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert known.status_code == unknown.status_code == 200
    assert strip(known).replace("known@", "X@") == strip(unknown).replace("stranger@", "X@")


def test_a_sign_in_with_no_turn_to_hash_is_answered_429_at_once(guarded):
    from webapp.auth import passwords

    make_account(guarded, "waiting@example.com")
    guarded.config["PASSWORD_HASH_WAIT"] = 0.05
    assert passwords._TURN.acquire(timeout=5)  # another request is hashing
    try:
        response = sign_in(guarded, "waiting@example.com", "correct horse battery staple")
    finally:
        passwords._TURN.release()
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Many people are signing in right now" in response.get_data(as_text=True)
    assert "signing in right now" in response.get_data(as_text=True)
    assert sign_in(guarded, "waiting@example.com", "correct horse battery staple").status_code == 302


def test_sign_ins_for_the_whole_site_are_capped_before_hashing(app, service_env, counted_hashes):
    limits = {**LOW_LIMITS, "RATELIMIT_LOGIN": "100 per minute", "RATELIMIT_LOGIN_SITE": "4 per minute",
              "RATELIMIT_KEY_PREFIX": f"site-{uuid.uuid4().hex[:8]}"}
    with isolated_app(service_env, limits) as web:
        # Many addresses and many emails: no per-address or per-account bucket fills up.
        statuses = [sign_in(web, f"many{n}@example.com", "wrong password").status_code for n in range(7)]
    assert statuses[:4] == [200] * 4 and set(statuses[4:]) == {429}
    assert len(counted_hashes) == 4
