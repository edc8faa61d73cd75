"""Sessions end on the server, passwords can be changed and reset by an expiring link,
and weak passwords are refused with advice."""
import re

import pytest
from sqlalchemy import select

from tests.support import csrf_from, emailed_link, register
from webapp.extensions import db
from webapp.models import User

PASSWORD = "correct horse battery"
NEW_PASSWORD = "lantern quarry velvet"


def sign_in(client, email="artisan@example.com", password=PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def copy_of(app, client):
    """Another browser holding a copy of `client`'s cookies (as a thief would)."""
    thief = app.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def test_a_copied_cookie_stops_working_after_logout(app, client):
    token = register(client)
    thief = copy_of(app, client)
    assert thief.get("/products").status_code == 200
    client.post("/logout", data={"csrf_token": token})
    assert thief.get("/products").status_code == 302
    assert thief.get("/account/").status_code == 302


def test_sign_out_everywhere_ends_other_sessions_and_keeps_this_one(app, client):
    register(client)
    laptop = app.test_client()
    assert sign_in(laptop).status_code == 302
    token = csrf_from(client.get("/account/").get_data(as_text=True))
    assert "Sign out everywhere" in client.get("/account/").get_data(as_text=True)
    assert client.post("/account/sessions/end", data={"csrf_token": token}).status_code == 302
    assert client.get("/products").status_code == 200
    assert laptop.get("/products").status_code == 302


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(app, client):
    register(client)
    laptop = app.test_client()
    sign_in(laptop)
    token = csrf_from(client.get("/account/").get_data(as_text=True))
    wrong = client.post("/account/password", data={"current": "not it at all", "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD, "csrf_token": token})
    assert wrong.status_code == 400 and "not your current password" in wrong.get_data(as_text=True)
    changed = client.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD, "csrf_token": token})
    assert changed.status_code == 302
    assert client.get("/products").status_code == 200 and laptop.get("/products").status_code == 302
    assert sign_in(app.test_client(), password=PASSWORD).status_code == 200
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302


def test_a_password_reset_link_works_once_and_ends_every_session(app, client, caplog):
    register(client)
    stolen = copy_of(app, client)
    visitor = app.test_client()
    page = visitor.get("/reset")
    asked = visitor.post("/reset", data={"email": "artisan@example.com",
                                         "csrf_token": csrf_from(page.get_data(as_text=True))},
                         follow_redirects=True)
    unknown = visitor.post("/reset", data={"email": "nobody-here@example.com",
                                           "csrf_token": csrf_from(page.get_data(as_text=True))},
                           follow_redirects=True)
    assert "If an account uses this address" in asked.get_data(as_text=True)
    assert re.sub(r'content="[^"]*"|value="[^"]*"', "", asked.get_data(as_text=True)) == \
        re.sub(r'content="[^"]*"|value="[^"]*"', "", unknown.get_data(as_text=True))
    link = emailed_link(app, "artisan@example.com", "/reset/")
    assert link in caplog.text  # development: the link goes to the log
    form = visitor.get(link)
    assert form.status_code == 200
    weak = visitor.post(link, data={"password": "password123", "confirm": "password123",
                                    "csrf_token": csrf_from(form.get_data(as_text=True))})
    assert weak.status_code == 200 and "common" in weak.get_data(as_text=True).lower()
    done = visitor.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                    "csrf_token": csrf_from(form.get_data(as_text=True))})
    assert done.status_code == 302
    assert stolen.get("/products").status_code == 302 and client.get("/products").status_code == 302
    assert sign_in(app.test_client(), password=NEW_PASSWORD).status_code == 302
    again = app.test_client().get(link)
    assert again.status_code == 302 and "/reset" in again.headers["Location"]  # used: no second time


def test_a_reset_link_expires(app, client):
    register(client)
    visitor = app.test_client()
    page = visitor.get("/reset")
    visitor.post("/reset", data={"email": "artisan@example.com",
                                 "csrf_token": csrf_from(page.get_data(as_text=True))})
    link = emailed_link(app, "artisan@example.com", "/reset/")
    app.config["RESET_LINK_TTL"] = -1
    try:
        assert visitor.get(link).status_code == 302
    finally:
        app.config["RESET_LINK_TTL"] = 3600


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyuiop", "artisan2024"])
def test_weak_passwords_are_refused_with_advice(client, app, password):
    token = csrf_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={"email": "artisan@example.com", "password": password,
                                              "confirm": password, "csrf_token": token})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="alert"' in html
    assert re.search(r"at least 10 characters|guess|common|Add another word", html)
    with app.app_context():
        assert db.session.scalar(select(User.id)) is None
