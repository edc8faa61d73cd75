"""Registration is no account oracle, and an account signs in only once its address is proven."""
import logging
import os
import re
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import create_engine, select, text

from tests.harness import ROOT, create_database, drop_database
from tests.support import csrf_from, emailed_link, follow_verification_link, isolated_app, register
from webapp.extensions import db
from webapp.models import User, utcnow

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "lantern quarry velvet"


@pytest.fixture(autouse=True)
def empty_outbox(app):
    """The outbox lives as long as the app; these tests count the emails they cause."""
    app.extensions["mail_outbox"] = []


def post_register(app, email, password=PASSWORD):
    client = app.test_client()
    token = csrf_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={"email": email, "password": password, "confirm": password,
                                              "csrf_token": token})
    return client, response


def sign_in(client, email, password=PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def mails_to(app, email):
    return [m for m in app.extensions.get("mail_outbox", []) if m["To"] == email]


def page_without(response, *emails):
    """The page with its CSRF token and the email typed taken out: what tells two answers apart."""
    html = re.sub(r'value="[^"]*"|content="[^"]*"', "", response.get_data(as_text=True))
    for email in emails:
        html = html.replace(email, "X")
    return html


def verified_account(app, email, password=PASSWORD):
    with app.app_context():
        user = User(email=email, email_verified_at=utcnow())
        user.set_password(password)
        db.session.add(user)
        db.session.commit()


def test_registering_a_new_or_a_taken_address_gives_the_same_answer_after_the_same_work(app, monkeypatch):
    import webapp.auth.signup as signup

    verified_account(app, "taken@example.com")
    hashed = []
    real = signup.hash_password
    monkeypatch.setattr(signup, "hash_password", lambda *a: hashed.append(1) or real(*a))
    taken_client, taken = post_register(app, "taken@example.com", OTHER_PASSWORD)
    new_client, new = post_register(app, "new@example.com")
    assert taken.status_code == new.status_code == 200
    assert page_without(taken, "taken@example.com") == page_without(new, "new@example.com")
    assert "Check your email" in new.get_data(as_text=True)
    assert hashed == [1, 1]  # the taken address costs the same hash
    # Neither is signed in: signing in is what the emailed link does.
    assert taken_client.get("/products").status_code == new_client.get("/products").status_code == 302
    # The owner of the taken address is told, with no link that signs anyone in; the password stays.
    [note] = mails_to(app, "taken@example.com")
    assert "tried to create an account" in note.get_content() and "/verify/" not in note.get_content()
    assert sign_in(app.test_client(), "taken@example.com").status_code == 302
    assert "/verify/" in mails_to(app, "new@example.com")[-1].get_content()


def test_account_numbers_advance_the_same_past_a_new_or_a_taken_address(app):
    """Shops show "Artisan #<id>": had a taken address used no id, an attacker registering
    their own accounts around someone's address would read the answer in their own numbers."""
    verified_account(app, "taken@example.com")

    def gap_around(middle):
        post_register(app, f"before-{middle}")
        post_register(app, middle)
        post_register(app, f"after-{middle}")
        with app.app_context():
            ids = {email: id_ for email, id_ in db.session.execute(select(User.email, User.id))}
        return ids[f"after-{middle}"] - ids[f"before-{middle}"]
    assert gap_around("fresh@example.com") == gap_around("taken@example.com")


def test_an_account_signs_in_only_after_its_emailed_link_is_followed(app):
    post_register(app, "maker@example.com")
    laptop = app.test_client()
    unfinished = sign_in(laptop, "maker@example.com")  # the right password, address not proven yet
    assert unfinished.status_code == 200 and "Check your email" in unfinished.get_data(as_text=True)
    assert laptop.get("/products").status_code == 302
    wrong = sign_in(app.test_client(), "maker@example.com", "not the password at all")
    assert "Email or password is not right" in wrong.get_data(as_text=True)  # says nothing more

    link = emailed_link(app, "maker@example.com", "/verify/")
    phone = app.test_client()
    assert phone.get(link).status_code == 200  # opening the link (a mail scanner does) proves nothing
    with app.app_context():
        assert db.session.scalar(select(User.email_verified_at).where(User.email == "maker@example.com")) is None
    follow_verification_link(phone, "maker@example.com")
    assert phone.get("/products").status_code == 200
    assert phone.get(link).status_code == 302  # the link worked once
    assert sign_in(laptop, "maker@example.com").status_code == 302


def test_a_forged_or_expired_verification_link_signs_nobody_in(app):
    post_register(app, "late@example.com")
    link = emailed_link(app, "late@example.com", "/verify/")
    visitor = app.test_client()
    assert visitor.get(link[:-3] + "xyz").status_code == 302
    token = csrf_from(visitor.get(link).get_data(as_text=True))  # still valid: the form is shown
    app.config["VERIFY_LINK_TTL"] = -1
    try:
        assert visitor.get(link).status_code == 302
        assert visitor.post(link, data={"csrf_token": token}).status_code == 302
    finally:
        app.config["VERIFY_LINK_TTL"] = 86400
    assert visitor.get("/products").status_code == 302


def test_a_second_registration_of_an_unfinished_address_replaces_the_first(app):
    """Someone registering your address before you gets no account you would then prove for them."""
    post_register(app, "mine@example.com", OTHER_PASSWORD)  # the squatter
    first_link = emailed_link(app, "mine@example.com", "/verify/")
    post_register(app, "mine@example.com", PASSWORD)  # the owner
    owner = app.test_client()
    assert owner.get(first_link).status_code == 302  # the squatter's link no longer works
    follow_verification_link(owner, "mine@example.com")
    assert sign_in(app.test_client(), "mine@example.com", OTHER_PASSWORD).status_code == 200
    assert sign_in(app.test_client(), "mine@example.com", PASSWORD).status_code == 302


def test_a_registration_after_the_owners_cannot_be_finished_with_the_owners_password(app):
    """The owner registers, a squatter registers the same address after: the newest link in the
    owner's mailbox is the squatter's registration, and the owner's password does not finish it."""
    post_register(app, "mine@example.com", PASSWORD)  # the owner
    post_register(app, "mine@example.com", OTHER_PASSWORD)  # the squatter, after
    owner = app.test_client()
    link = emailed_link(app, "mine@example.com", "/verify/")
    page = owner.get(link)
    refused = owner.post(link, data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                     "password": PASSWORD})
    assert refused.status_code == 200 and "not the password of the registration" in refused.get_data(as_text=True)
    assert owner.get("/products").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(User.email_verified_at).where(User.email == "mine@example.com")) is None
    assert sign_in(app.test_client(), "mine@example.com", OTHER_PASSWORD).status_code == 200  # not in
    post_register(app, "mine@example.com", PASSWORD)  # the owner again: a link of their own
    follow_verification_link(owner, "mine@example.com", PASSWORD)
    assert sign_in(app.test_client(), "mine@example.com", PASSWORD).status_code == 302
    assert sign_in(app.test_client(), "mine@example.com", OTHER_PASSWORD).status_code == 200


def test_asking_for_the_link_again_answers_the_same_for_any_address(app):
    verified_account(app, "done@example.com")
    post_register(app, "pending@example.com")
    answers = {}
    for email in ("done@example.com", "pending@example.com", "nobody@example.com"):
        client = app.test_client()
        page = client.get("/register")
        answers[email] = client.post("/register/resend", data={
            "email": email, "csrf_token": csrf_from(page.get_data(as_text=True))})
    pages = {page_without(response, email) for email, response in answers.items()}
    assert {r.status_code for r in answers.values()} == {200} and len(pages) == 1
    assert len([m for m in mails_to(app, "pending@example.com") if "/verify/" in m.get_content()]) == 2
    assert mails_to(app, "nobody@example.com") == []
    assert "/verify/" not in mails_to(app, "done@example.com")[-1].get_content()


def test_an_admin_address_becomes_an_admin_by_the_same_verification(app):
    client, _ = post_register(app, "admin@example.com")
    with app.app_context():
        assert db.session.scalar(select(User.is_admin).where(User.email == "admin@example.com")) is False
    assert len(mails_to(app, "admin@example.com")) == 1  # one link, not a second one for admin
    follow_verification_link(client, "admin@example.com")
    assert client.get("/admin/").status_code == 200
    assert app.test_client().get("/confirm-admin/anything").status_code == 404


def test_a_password_reset_link_proves_an_unfinished_address(app):
    post_register(app, "forgot@example.com")
    visitor = app.test_client()
    page = visitor.get("/reset")
    visitor.post("/reset", data={"email": "forgot@example.com", "csrf_token": csrf_from(page.get_data(as_text=True))})
    link = emailed_link(app, "forgot@example.com", "/reset/")
    form = visitor.get(link)
    assert visitor.post(link, data={"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD,
                                    "csrf_token": csrf_from(form.get_data(as_text=True))}).status_code == 302
    assert sign_in(app.test_client(), "forgot@example.com", OTHER_PASSWORD).status_code == 302


def test_create_admin_makes_an_account_that_signs_in(app):
    with app.app_context():  # the `flask` command pushes one
        result = app.test_cli_runner().invoke(args=["create-admin", "ops@example.com"],
                                              input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert sign_in(client, "ops@example.com").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_create_admin_on_an_existing_account_ends_its_sessions(app):
    """An operator resetting an account's password (say, one taken over) signs every old session out."""
    verified_account(app, "taken@example.com")
    old = app.test_client()
    assert sign_in(old, "taken@example.com").status_code == 302
    assert old.get("/products").status_code == 200
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["create-admin", "taken@example.com"],
                                              input=f"{OTHER_PASSWORD}\n{OTHER_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert old.get("/products").status_code == 302
    assert sign_in(app.test_client(), "taken@example.com", OTHER_PASSWORD).status_code == 302


def test_production_without_smtp_says_at_start_that_nobody_can_finish_registering(service_env, caplog):
    production = {**service_env, "APP_ENV": "production", "SECRET_KEY": "prod-" + uuid.uuid4().hex,
                  "METRICS_TOKEN": "scrape"}
    with caplog.at_level(logging.WARNING, logger="webapp.mail"), isolated_app(production):
        pass
    assert "nobody can finish registering" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="webapp.mail"), \
            isolated_app({**production, "SMTP_HOST": "smtp.example.com"}):
        pass
    assert "nobody can finish registering" not in caplog.text


def test_registering_through_the_helper_signs_in(client):
    """tests/support.register, which most tests use, goes through the emailed link."""
    register(client, "helper@example.com")
    assert client.get("/products").status_code == 200


@pytest.fixture
def scratch_database():
    name = f"jai_verify_{uuid.uuid4().hex[:8]}"
    url = create_database(name)
    yield url
    drop_database(name)


def flask_db(url, *args):
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp:create_app", "db", *args], check=True,
                   cwd=ROOT, capture_output=True, env={**os.environ, "DATABASE_URL": url})


def test_accounts_made_before_verification_existed_stay_usable(scratch_database):
    flask_db(scratch_database, "upgrade", "0012_training_item_attributes")
    engine = create_engine(scratch_database)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (email, password_hash, is_admin, created_at) "
                              "VALUES ('old@example.com', 'x', 0, '2026-01-02 03:04:05')"))
        flask_db(scratch_database, "upgrade")
        with engine.connect() as conn:
            verified = conn.execute(text("SELECT email_verified_at FROM users")).scalar_one()
        assert str(verified) == "2026-01-02 03:04:05"
    finally:
        engine.dispose()
