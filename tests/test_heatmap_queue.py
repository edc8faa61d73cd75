"""A heatmap steps aside while a listing waits (the folder broker reads its queues in turn).

A unit test of step_aside: the re-send is recorded instead of published, because the suite's
real worker may be reading the heatmap queue and would take the message at once."""
from tests.factories import ready_product
from tests.support import register
from webapp.extensions import db
from webapp.models import Product
from workers import explain


def test_heatmap_goes_to_the_back_of_its_queue_only_while_a_listing_waits(app, client, monkeypatch):
    sent = []
    monkeypatch.setattr(explain.store_heatmap, "apply_async", lambda **kw: sent.append(kw))
    register(client, "maker@example.com")
    with app.app_context():
        pid = ready_product("maker@example.com")
        photo_id = db.session.get(Product, pid).photos[0].id
        assert explain.step_aside(photo_id, 0) is False and sent == []  # nothing waiting: it runs now
        db.session.get(Product, pid).jobs[0].state = "queued"
        db.session.commit()
        assert explain.step_aside(photo_id, 3) is True
        assert sent == [{"args": [photo_id], "kwargs": {"yields": 4}}]  # sent again at once, no countdown
        assert explain.step_aside(photo_id, explain.MAX_YIELDS) is False  # never put off for ever


def test_a_heatmap_that_cannot_be_sent_again_runs_now(app, client, monkeypatch):
    def broker_down(**_):
        raise ConnectionError("broker down")

    monkeypatch.setattr(explain.store_heatmap, "apply_async", broker_down)
    register(client, "maker@example.com")
    with app.app_context():
        pid = ready_product("maker@example.com")
        db.session.get(Product, pid).jobs[0].state = "queued"
        db.session.commit()
        assert explain.step_aside(db.session.get(Product, pid).photos[0].id, 0) is False
