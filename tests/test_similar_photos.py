"""Photos alike by their embeddings: "more like this" on the public page, and on the review page a
photo nearly the same as another artisan's listed photo, flagged with a link to it."""
import numpy as np

from tests.factories import RESULT, ready_product
from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.listings.embeddings import record_embedding
from webapp.models import PhotoEmbedding, Product

RNG = np.random.default_rng(7)
BASE = RNG.normal(size=1280)


def product_with(app, email, vector, status="approved", title=None) -> int:
    with app.app_context():
        pid = ready_product(email, status=status, result={**RESULT, "title": title or RESULT["title"]})
        record_embedding(db.session.get(Product, pid).photos[0].id, vector, "test-1")
        db.session.commit()
        return pid


def test_review_page_flags_a_photo_nearly_the_same_as_another_artisans_listed_photo(app, client):
    register(client, "admin@example.com")
    other = app.test_client()
    register(other, "maker@example.com")
    register(app.test_client(), "thief@example.com")
    listed = product_with(app, "maker@example.com", BASE, title="Original ring")
    copied = product_with(app, "thief@example.com", BASE + RNG.normal(scale=0.01, size=1280), status="in_review")
    fresh = product_with(app, "thief@example.com", RNG.normal(size=1280), status="in_review")
    html = client.get(f"/admin/products/{copied}").get_data(as_text=True)
    assert "Possible stolen or re-used photo" in html
    assert f'href="/catalogue/{listed}">Original ring</a>' in html
    assert "Possible stolen or re-used photo" not in client.get(f"/admin/products/{fresh}").get_data(as_text=True)
    # The artisan's own photo used again in another of their listings is no one else's.
    own = product_with(app, "maker@example.com", BASE, status="in_review")
    assert "Possible stolen or re-used photo" not in client.get(f"/admin/products/{own}").get_data(as_text=True)


def test_more_like_this_shows_the_closest_published_pieces(app, client):
    register(client, "maker@example.com")
    shown = product_with(app, "maker@example.com", BASE, title="Shown piece")
    near = product_with(app, "maker@example.com", BASE + RNG.normal(scale=0.3, size=1280), title="Near piece")
    product_with(app, "maker@example.com", BASE + RNG.normal(scale=0.3, size=1280), status="draft",
                 title="Unpublished piece")
    product_with(app, "maker@example.com", -BASE, title="Opposite piece")
    html = app.test_client().get(f"/catalogue/{shown}").get_data(as_text=True)
    more = html[html.index("More like this"):]
    assert more.index("Near piece") < more.index("Opposite piece")
    assert "Unpublished piece" not in html and "Shown piece</span>" not in more
    assert f'href="/catalogue/{near}"' in more


def test_worker_stores_the_embedding_and_the_same_photo_from_another_artisan_is_flagged(app, client, worker):
    admin = app.test_client()
    register(admin, "admin@example.com")
    photo = drawn_ring_jpeg(360)
    token = register(client, "maker@example.com")
    body, _ = upload_photo(client, token, photo)
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert wait_for_job(client, body["status_url"], timeout=240)["state"] == "ready"
    with app.app_context():
        first = db.session.scalar(db.select(Product))
        first.status = "approved"
        db.session.commit()
        row = db.session.get(PhotoEmbedding, first.photos[0].id)
        assert row is not None and len(row.vector) == 1280 * 2
        first_id = first.id
    thief = app.test_client()
    token = register(thief, "thief@example.com")
    body, _ = upload_photo(thief, token, photo, filename="mine.jpg")
    thief.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert wait_for_job(thief, body["status_url"], timeout=240)["state"] == "ready"
    second = int(body["product_url"].rsplit("/", 1)[1])
    html = admin.get(f"/admin/products/{second}").get_data(as_text=True)
    assert "Possible stolen or re-used photo" in html and f'href="/catalogue/{first_id}"' in html


def test_more_like_this_compares_the_embedding_alone_when_rows_carry_the_heads_extra_parts(app, client):
    # A version whose heads read extra parts (ml/features.py) stores them after the 1280-d embedding;
    # rows of other versions are 1280 wide. Only the embedding says which photos are alike.
    register(client, "maker@example.com")
    extra = 100 * RNG.uniform(size=96)
    shown = product_with(app, "maker@example.com", np.concatenate([BASE, extra]), title="Shown piece")
    near = product_with(app, "maker@example.com", BASE + RNG.normal(scale=0.3, size=1280), title="Near piece")
    product_with(app, "maker@example.com", np.concatenate([-BASE, extra]), title="Opposite piece")
    html = app.test_client().get(f"/catalogue/{shown}").get_data(as_text=True)
    more = html[html.index("More like this"):]
    assert more.index("Near piece") < more.index("Opposite piece")
    assert f'href="/catalogue/{near}"' in more
