"""The web tier's cheap paths (docs/performance.md) keep their meaning: no second ROLLBACK when
a connection goes back to the pool, while transactions still end, reused presigned URLs that still open, one query for a
catalogue page that still shows each listing's first thumbnail, and a status poll that
still answers only the job's owner."""
import threading
import time
from contextlib import contextmanager

import requests
from mysql.connector.constants import ServerCmd
from sqlalchemy import create_engine, event, select
from sqlalchemy.pool import NullPool

from tests.factories import ready_product
from tests.support import register
from webapp.auth.session_account import SESSION_KEY
from webapp.extensions import db
from webapp.models import Job, Photo, Product, User, new_id
from webapp.pool_ping import IDLE_PING_SECONDS
from webapp.storage import get_store


@contextmanager
def counted_driver(app):
    """A raw driver connection from the app's pool whose commands to the server are counted."""
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            driver, sent = raw.driver_connection, []
            original = driver._send_cmd

            def counted(command, *args, **kwargs):
                sent.append(command)
                return original(command, *args, **kwargs)

            driver._send_cmd = counted
            yield driver, sent
        finally:
            raw.close()


def query(driver, sql):
    cursor = driver.cursor(buffered=True)
    cursor.execute(sql)
    return cursor.fetchall()


def test_a_connection_back_in_the_pool_sends_no_second_rollback(app):
    """The session ends its transaction; the pool then returns the connection without a ROLLBACK."""
    with counted_driver(app) as (driver, sent):
        query(driver, "SELECT COUNT(*) FROM users")
        assert driver.in_transaction
        driver.rollback()  # what the session does when a request or a task ends
        assert not driver.in_transaction
        ended = len(sent)
    assert len(sent) == ended  # checked back in (counted_driver closes it): nothing more sent


def test_a_rollback_after_a_read_still_ends_the_snapshot(app):
    """A pooled connection must not keep an old snapshot: the next request sees new rows."""
    with app.app_context():
        reader, writer = db.engine.raw_connection(), db.engine.raw_connection()
        try:
            cursor = reader.cursor()
            cursor.execute("SELECT COUNT(*) FROM users")
            before = cursor.fetchall()[0][0]
            other = writer.cursor()
            other.execute("INSERT INTO users (email, password_hash, is_admin, created_at) "
                          "VALUES ('snapshot@example.com', 'x', 0, NOW())")
            writer.commit()
            cursor.execute("SELECT COUNT(*) FROM users")
            assert cursor.fetchall()[0][0] == before  # same transaction, same snapshot
            reader.rollback()
            cursor = reader.cursor()
            cursor.execute("SELECT COUNT(*) FROM users")
            assert cursor.fetchall()[0][0] == before + 1
        finally:
            reader.rollback()
            reader.close()
            writer.close()


def only_pooled_connection(app):
    """Empty the app's pool, then make one connection and return it to the pool; its server id."""
    db.engine.dispose()
    with db.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(app):
    """No pre-ping on every checkout, but an idle connection the server dropped never reaches a request."""
    with app.app_context():
        dropped = only_pooled_connection(app)
        with create_engine(db.engine.url, poolclass=NullPool).connect() as killer:  # not from the pool
            killer.exec_driver_sql(f"KILL {int(dropped)}")
        time.sleep(IDLE_PING_SECONDS + 0.2)  # idle long enough to be pinged at its next checkout
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar() != dropped


def test_a_connection_just_back_in_the_pool_is_not_pinged_again(app):
    with app.app_context():
        only_pooled_connection(app)
        raw = db.engine.raw_connection()  # the same connection, back in use at once
        driver, sent = raw.driver_connection, []
        original = driver._send_cmd
        driver._send_cmd = lambda command, *a, **k: sent.append(command) or original(command, *a, **k)
        raw.close()
        with db.engine.connect():
            assert ServerCmd.PING not in sent  # checked out again within the second: no ping
        time.sleep(IDLE_PING_SECONDS + 0.2)
        with db.engine.connect():
            assert ServerCmd.PING in sent  # idle for a while: pinged at checkout
        driver._send_cmd = original


def test_presigned_download_urls_are_reused_and_open(app):
    with app.app_context():
        store = get_store()
        key = f"media/test/{new_id()}.thumb.jpg"
        store.write(key, b"thumbnail bytes", "image/jpeg")
        first, again = store.url(key), store.url(key)
        assert first == again
        assert "X-Amz-Expires=3600" in first
        response = requests.get(first, timeout=10)
        assert response.status_code == 200 and response.content == b"thumbnail bytes"
        assert store.url(key, 60) != first  # another lifetime is another URL


def test_anonymous_catalogue_page_sets_no_cookie_and_shows_first_thumbnails(app, client):
    register(client)
    with app.app_context():
        pids = [ready_product("artisan@example.com") for _ in range(3)]
        product = db.session.get(Product, pids[0])
        # A later photo with its own thumbnail, and an earlier one still without a thumbnail.
        db.session.add(Photo(product=product, object_key=f"media/x/{new_id()}.jpg", content_type="image/jpeg",
                             thumbnail_key="media/x/second.thumb.jpg"))
        db.session.query(Product).filter(Product.id.in_(pids)).update({"status": "approved"})
        db.session.commit()
        first_thumbs = [db.session.scalar(select(Photo.thumbnail_key).where(Photo.product_id == pid)
                                          .order_by(Photo.id).limit(1)) for pid in pids]
    public = app.test_client()
    response = public.get("/catalogue/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
    assert 'name="csrf-token"' not in html
    assert "3 pieces" in html
    for key in first_thumbs:
        assert key.rsplit("/", 1)[1] in html
    assert "second.thumb.jpg" not in html
    empty = public.get("/catalogue/?page=2").get_data(as_text=True)
    assert "3 pieces" in empty and "Page 2 of 1" not in empty
    # Signed in, the page keeps the token the header's sign-out form and scripts use.
    assert 'name="csrf-token"' in client.get("/catalogue/").get_data(as_text=True)


def test_status_poll_answers_the_owner_only(app, client):
    token = register(client)
    other = app.test_client()
    register(other, email="someone@example.com")
    with app.app_context():
        pid = ready_product("artisan@example.com")
        job_id = db.session.scalar(select(Job.id).where(Job.product_id == pid))
    mine = client.get(f"/jobs/{job_id}")
    assert mine.status_code == 200 and mine.json["state"] == "ready"
    assert mine.json["listing"]["title"]
    assert other.get(f"/jobs/{job_id}").status_code == 404
    assert app.test_client().get(f"/jobs/{job_id}").status_code in (302, 401)
    assert client.get(f"/jobs/{new_id()}").status_code == 404
    assert mine.headers["Cache-Control"] == "private, no-store" and "Set-Cookie" not in mine.headers
    copied = app.test_client()
    copied.set_cookie("session", client.get_cookie("session").value)
    assert copied.get(f"/jobs/{job_id}").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert client.get(f"/jobs/{job_id}").status_code in (302, 401)  # signed out: no answer
    assert copied.get(f"/jobs/{job_id}").status_code in (302, 401)  # its session ended on the server


def test_status_poll_of_a_session_without_the_account_key_goes_through_flask_login(app, client):
    """A session signed in before the poll's own key existed still polls (checked by Flask-Login)."""
    token = register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
        job_id = db.session.scalar(select(Job.id).where(Job.product_id == pid))
    with client.session_transaction() as session:
        session.pop(SESSION_KEY)
    assert client.get(f"/jobs/{job_id}").json["state"] == "ready"
    assert client.get(f"/jobs/{new_id()}").status_code == 404
    client.post("/logout", data={"csrf_token": token})
    assert client.get(f"/jobs/{job_id}").status_code in (302, 401)


def test_status_poll_is_one_query_then_none(app, client):
    """The session's account and version are checked in the poll's own query, not by loading the user
    first; the next poll is answered from the poll's cache (tests/test_poll_cache.py) with none."""
    register(client)
    with app.app_context():
        pid = ready_product("artisan@example.com")
        job_id = db.session.scalar(select(Job.id).where(Job.product_id == pid))
        statements = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listen)
    try:
        assert client.get(f"/jobs/{job_id}").json["state"] == "ready"
        assert len(statements) == 1 and "session_version" in statements[0]
        assert client.get(f"/jobs/{job_id}").json["state"] == "ready"
        assert len(statements) == 1
    finally:
        with app.app_context():
            event.remove(db.engine, "before_cursor_execute", listen)


def test_concurrent_sign_ins_each_get_their_answer(app):
    """Password hashing runs one at a time per process; every caller still gets its result."""
    with app.app_context():
        user = User(email="hash@example.com")
        user.set_password("right password 1")
        results = {}

        def check(i):
            results[i] = user.check_password("right password 1" if i % 2 else "wrong")

        threads = [threading.Thread(target=check, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {0: False, 1: True, 2: False, 3: True}


def test_stored_anonymous_catalogue_page_follows_changes_from_any_process(app, client):
    register(client)
    with app.app_context():
        first, second = ready_product("artisan@example.com"), ready_product("artisan@example.com")
        db.session.query(Product).filter(Product.id == first).update({"status": "approved", "title": "First ring"})
        db.session.commit()
    public = app.test_client()
    assert "1 piece" in public.get("/catalogue/").get_data(as_text=True)
    # An ORM change in this process clears the stored pages.
    with app.app_context():
        product = db.session.get(Product, first)
        product.title = "Renamed ring"
        db.session.commit()
    assert "Renamed ring" in public.get("/catalogue/").get_data(as_text=True)
    # A change made elsewhere (another web process, the worker) shows through the version.
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("UPDATE products SET status = 'approved', title = 'Second ring' WHERE id = %s",
                           (second,))
            raw.commit()
        finally:
            raw.close()
    html = public.get("/catalogue/").get_data(as_text=True)
    assert "2 pieces" in html and "Second ring" in html
