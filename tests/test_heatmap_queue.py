"""A heatmap steps aside while a listing waits (the folder broker reads its queues in turn)."""
import redis

from tests.factories import ready_product
from tests.support import register
from webapp.extensions import db
from webapp.models import Job, Product
from workers.celery_app import heatmap_queue
from workers.explain import MAX_YIELDS, step_aside


def test_heatmap_goes_to_the_back_of_its_queue_only_while_a_listing_waits(app, client, service_env):
    register(client, "maker@example.com")
    queue = redis.Redis.from_url(service_env["REDIS_URL"])
    name = heatmap_queue(app.config)
    with app.app_context():
        pid = ready_product("maker@example.com")
        photo_id = db.session.get(Product, pid).photos[0].id
        before = queue.llen(name)
        assert step_aside(photo_id, 0) is False  # nothing waiting: the heatmap runs now
        job = db.session.get(Product, pid).jobs[0]
        job.state = "queued"
        db.session.commit()
        assert step_aside(photo_id, 0) is True
        assert queue.llen(name) == before + 1  # sent again, at once, to the heatmap queue
        assert step_aside(photo_id, MAX_YIELDS) is False  # and never put off for ever
        assert db.session.scalar(db.select(db.func.count()).select_from(Job)) == 1
