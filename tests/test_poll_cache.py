"""The status poll's Redis cache (webapp/poll_cache.py) never answers with what has changed: a job's
new state shows at the next poll, an ended session is refused at once, another account's job
stays 404, a fill that lost the race with a commit is dropped, and with Redis away the poll
answers from the database."""
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from sqlalchemy import event, select

from tests.factories import ready_product, user_id
from tests.faults import FaultProxy
from tests.support import csrf_from, isolated_app, register
from webapp import job_lifecycle
from webapp.extensions import db
from webapp.listings.lifecycle import delete_product
from webapp.models import Job, Photo, Product, User, new_id, utcnow
from webapp.poll_cache import ACCOUNT_SECONDS, PAUSE_SECONDS, poll_cache
from webapp.products.routes import POLL_QUERY, polled_status, status_fields

PASSWORD = "correct horse battery"


def queued_job(email="artisan@example.com") -> str:
    """A confirmed upload waiting for a worker; returns the job id."""
    product = Product(owner_id=user_id(email), status="draft")
    photo = Photo(product=product, object_key=f"media/uploads/x/{new_id()}.jpg", content_type="image/jpeg")
    job = Job(product=product, photo=photo, state="queued", queued_at=utcnow())
    db.session.add_all([product, photo, job])
    db.session.commit()
    return job.id


@contextmanager
def statements(app):
    """The SQL statements the app sends meanwhile."""
    sent = []
    listen = lambda *args: sent.append(args[2])  # noqa: E731
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listen)


def polled_twice(app, client, url) -> dict:
    """Poll twice; the second answer must come from the cache (no SQL), proving it was filled."""
    first = client.get(url).json
    with statements(app) as sent:
        second = client.get(url).json
    assert sent == [] and second == first
    return second


def session_of(email="artisan@example.com") -> tuple[int, int]:
    user = db.session.scalar(select(User).where(User.email == email))
    return user.id, user.session_version


def test_a_job_s_new_state_shows_at_the_next_poll(app, client):
    register(client)
    with app.app_context():
        job_id = queued_job()
    url = f"/jobs/{job_id}"
    assert polled_twice(app, client, url)["state"] == "queued"
    with app.app_context():  # the worker takes it
        attempt = job_lifecycle.claim_job(job_id, "task-1", max_attempts=3)
    assert polled_twice(app, client, url)["state"] == "processing"
    with app.app_context():
        job_lifecycle.fail_claimed(job_id, attempt, "The photo is too dark.")
    failed = polled_twice(app, client, url)
    assert failed["state"] == "failed" and failed["error"] == "The photo is too dark."


def test_jobs_claimed_in_bulk_show_their_new_state(app, client):
    """A batch's extra jobs move in one UPDATE (no ORM change per job): still forgotten."""
    register(client)
    with app.app_context():
        lead, others = queued_job(), [queued_job(), queued_job()]
    for job_id in others:
        assert polled_twice(app, client, f"/jobs/{job_id}")["state"] == "queued"
    with app.app_context():
        job_lifecycle.claim_job(lead, "task-1", max_attempts=3)
        assert set(job_lifecycle.claim_more(lead, "task-1", limit=5, max_attempts=3)) == set(others)
    for job_id in others:
        assert client.get(f"/jobs/{job_id}").json["state"] == "processing"


def test_a_ready_job_polls_its_listing_and_a_deleted_one_is_gone(app, client):
    register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
        job_id = db.session.scalar(select(Job.id).where(Job.product_id == pid))
    url = f"/jobs/{job_id}"
    ready = polled_twice(app, client, url)
    assert ready["listing"]["title"] == "Gold ring with a ruby" and ready["product_url"] == f"/products/{pid}"
    with app.app_context():
        delete_product(db.session.get(Product, pid))
    assert client.get(url).status_code == 404


def test_another_account_s_job_stays_404_while_the_owner_s_answer_is_cached(app, client):
    register(client)
    other = app.test_client()
    register(other, email="someone@example.com")
    with app.app_context():
        job_id, others = queued_job(), queued_job("someone@example.com")
    polled_twice(app, client, f"/jobs/{job_id}")
    polled_twice(app, other, f"/jobs/{others}")  # the other account's session version is cached too
    assert other.get(f"/jobs/{job_id}").status_code == 404
    assert app.test_client().get(f"/jobs/{job_id}").status_code in (302, 401)


def copy_of(app, client):
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_an_ended_session_is_refused_at_once_by_a_cached_poll(app, client):
    """Sign out everywhere, a password change and signing out each end a copied session at the next poll."""
    token = register(client)
    with app.app_context():
        job_id = queued_job()
    url = f"/jobs/{job_id}"
    ends = [
        lambda t: client.post("/account/sessions/end", data={"csrf_token": t}),
        lambda t: client.post("/account/password", data={"current": PASSWORD, "password": "lantern quarry velvet",
                                                         "confirm": "lantern quarry velvet", "csrf_token": t}),
    ]
    for end in ends:
        thief = copy_of(app, client)
        polled_twice(app, thief, url)  # the thief's session version is the cached one
        assert end(csrf_from(client.get("/account/").get_data(as_text=True))).status_code == 302
        assert thief.get(url).status_code in (302, 401)
        assert polled_twice(app, client, url)["state"] == "queued"  # this browser carries on, re-issued
    thief = copy_of(app, client)
    polled_twice(app, thief, url)
    client.post("/logout", data={"csrf_token": token})
    assert thief.get(url).status_code in (302, 401)
    assert client.get(url).status_code in (302, 401)


def test_a_fill_that_lost_the_race_with_a_commit_is_dropped(app, client):
    """The poll read the row, a worker committed a new state, then the poll's fill arrives: not kept."""
    register(client)
    with app.app_context():
        job_id = queued_job()
        owner, version = session_of()
        cache = poll_cache()
        looked = cache.lookup(job_id, owner, version)  # the poll: a miss, generations read
        row = db.session.execute(POLL_QUERY, {"job_id": job_id, "owner_id": owner, "version": version}).first()
        old = status_fields(row, None)
        db.session.rollback()
        assert looked.fields is None and old["state"] == "queued"
        job_lifecycle.claim_job(job_id, "task-1", max_attempts=3)  # committed, then forgotten
        cache.fill(looked, job_id, owner, version, old)  # the poll's late fill
        assert cache.lookup(job_id, owner, version).fields is None
        # With no commit in between the same fill is kept: the check above can fail.
        looked = cache.lookup(job_id, owner, version)
        cache.fill(looked, job_id, owner, version, {**old, "state": "processing"})
        assert cache.lookup(job_id, owner, version).fields["state"] == "processing"
        account_entry = cache.keys(job_id, owner)[2]
        assert 0 < cache.client.pttl(account_entry) <= ACCOUNT_SECONDS * 1000  # the backstop
    assert client.get(f"/jobs/{job_id}").json["state"] == "processing"


def test_a_session_version_filled_after_the_session_ended_is_dropped(app, client):
    """The poll confirmed the version, then "sign out everywhere" committed, then the fill arrives."""
    register(client)
    with app.app_context():
        job_id = queued_job()
        owner, version = session_of()
        cache = poll_cache()
        looked = cache.lookup(job_id, owner, version)
        fields = polled_status(job_id, owner, version)  # the poll's query: the session is current
        db.session.rollback()
        db.session.get(User, owner).end_sessions()
        db.session.commit()
        cache.fill(looked, job_id, owner, version, fields)  # late, with the old version
        assert cache.client.get(cache.keys(job_id, owner)[2]) is None
        assert cache.lookup(job_id, owner, version).fields is None
    assert client.get(f"/jobs/{job_id}").status_code in (302, 401)


def test_a_poll_whose_transaction_read_before_the_lookup_fills_nothing(app, client):
    """Its snapshot could be older than the generations it read, so it must not fill."""
    register(client)
    with app.app_context():
        job_id = queued_job()
        owner, version = session_of()
        db.session.rollback()
        db.session.execute(select(1))  # the transaction's snapshot starts here
        assert polled_status(job_id, owner, version)["state"] == "queued"
        db.session.rollback()
        assert poll_cache().lookup(job_id, owner, version).fields is None
        assert polled_status(job_id, owner, version)["state"] == "queued"  # its first read: fills
        db.session.rollback()
        assert poll_cache().lookup(job_id, owner, version).fields["state"] == "queued"


def test_the_poll_answers_from_the_database_while_redis_is_away(app, service_env):
    """`app` only to empty the tables afterwards; the test's own app reaches Redis through a proxy."""
    proxy = FaultProxy("127.0.0.1", urlsplit(service_env["REDIS_URL"]).port)
    env = {**service_env, "REDIS_URL": f"redis://{proxy.url_host}/15",
           "CELERY_BROKER_URL": service_env["REDIS_URL"]}
    try:
        with isolated_app(env) as proxied:
            client = proxied.test_client()
            register(client)
            with proxied.app_context():
                job_id = queued_job()
            url = f"/jobs/{job_id}"
            for fault in (proxy.refuse, proxy.stall):
                polled_twice(proxied, client, url)
                fault()
                started = time.monotonic()
                assert client.get(url).json["state"] == "queued"
                assert time.monotonic() - started < 2
                proxy.restore()
                time.sleep(PAUSE_SECONDS + 0.1)
            thief = copy_of(proxied, client)
            polled_twice(proxied, thief, url)  # cached: the job queued, the thief's session version
            proxy.refuse()
            with proxied.app_context():  # committed while Redis is away: the forgets fail
                job_lifecycle.claim_job(job_id, "task-1", max_attempts=3)
            token = csrf_from(client.get("/account/").get_data(as_text=True))
            assert client.post("/account/sessions/end", data={"csrf_token": token}).status_code == 302
            assert thief.get(url).status_code in (302, 401)
            assert client.get(url).json["state"] == "processing"
            proxy.restore()
            time.sleep(PAUSE_SECONDS + 0.1)  # this process uses Redis again, forgetting what it missed first
            assert thief.get(url).status_code in (302, 401)
            assert polled_twice(proxied, client, url)["state"] == "processing"
    finally:
        proxy.close()


def test_without_redis_the_poll_reads_the_database(app, service_env):
    env = {k: v for k, v in service_env.items() if k != "REDIS_URL"}
    with isolated_app({**env, "CELERY_BROKER_URL": service_env["REDIS_URL"]}) as plain:
        assert "poll_cache" not in plain.extensions
        client = plain.test_client()
        register(client)
        with plain.app_context():
            job_id = queued_job()
        with statements(plain) as sent:
            assert client.get(f"/jobs/{job_id}").json["state"] == "queued"
        assert len(sent) == 1
