"""Regeneration and added photos on the real worker: text a person wrote survives."""
from sqlalchemy import select

from tests.support import drawn_ring_jpeg, register, upload_photo, wait_for_job
from webapp.extensions import db
from webapp.models import GeneratedListing, Job, Product


def uploaded_and_ready(client, token):
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert stored.status_code == 204
    client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert wait_for_job(client, body["status_url"], timeout=240)["state"] == "ready"
    return body


def latest_job(app, pid):
    with app.app_context():
        return db.session.scalars(select(Job).where(Job.product_id == pid).order_by(Job.created_at.desc())).first().id


def test_regeneration_keeps_edits_unless_the_artisan_ticks_them(app, client, worker):
    token = register(client)
    body = uploaded_and_ready(client, token)
    pid = body["product_url"].rsplit("/", 1)[1]
    with app.app_context():
        product = db.session.get(Product, int(pid))
        form = {"title": "My own title", "description": product.description, "tags": "handmade",
                **{f"attr_{k}": v["value"] for k, v in product.attributes.items()}, "csrf_token": token}
    client.post(f"/products/{pid}", data=form)

    client.post(f"/products/{pid}/regenerate", data={"csrf_token": token, "tone": "playful", "length": "short"})
    job_id = latest_job(app, int(pid))
    assert wait_for_job(client, f"/jobs/{job_id}", timeout=240)["state"] == "ready"
    with app.app_context():
        product = db.session.get(Product, int(pid))
        generated = db.session.scalar(select(GeneratedListing).where(GeneratedListing.job_id == job_id))
        assert db.session.get(Job, job_id).tone == "playful"
        assert (product.title, product.tags) == ("My own title", ["handmade"])  # written by a person
        assert product.description == generated.description  # not edited: follows the new version

    client.post(f"/products/{pid}/regenerate", data={"csrf_token": token, "tone": "minimal",
                                                     "length": "long", "replace": ["title"]})
    job_id = latest_job(app, int(pid))
    assert wait_for_job(client, f"/jobs/{job_id}", timeout=240)["state"] == "ready"
    with app.app_context():
        product = db.session.get(Product, int(pid))
        generated = db.session.scalar(select(GeneratedListing).where(GeneratedListing.job_id == job_id))
        assert product.title == generated.title and product.tags == ["handmade"]
        assert product.edited_fields == ["tags"]


def test_a_photo_added_to_a_product_gets_a_thumbnail_and_leaves_the_text(app, client, worker):
    token = register(client)
    body = uploaded_and_ready(client, token)
    pid = int(body["product_url"].rsplit("/", 1)[1])
    with app.app_context():
        title = db.session.get(Product, pid).title
    created = client.post("/uploads", headers={"X-CSRFToken": token}, json={
        "filename": "side.jpg", "content_type": "image/jpeg", "size": len(drawn_ring_jpeg(300)),
        "product_id": pid})
    assert created.status_code == 201 and created.get_json()["product_url"].endswith(f"/{pid}")
    from tests.support import post_to_storage

    post_to_storage(client, created.get_json()["upload"], drawn_ring_jpeg(300), "side.jpg", "image/jpeg")
    client.post(created.get_json()["confirm_url"], headers={"X-CSRFToken": token})
    assert wait_for_job(client, created.get_json()["status_url"], timeout=240)["state"] == "ready"
    with app.app_context():
        product = db.session.get(Product, pid)
        assert len(product.photos) == 2 and all(p.thumbnail_key for p in product.photos)
        assert product.title == title
    assert client.get(f"/products/{pid}").get_data(as_text=True).count('alt="Photo ') == 2


def test_corrected_category_and_metal_are_what_the_regenerated_listing_says(app, client, worker):
    """The artisan corrects the model; the worker writes title, text and tags from the correction,
    the old values appear nowhere, and regenerating again with the same options rewords it."""
    token = register(client)
    body = uploaded_and_ready(client, token)
    pid = int(body["product_url"].rsplit("/", 1)[1])
    with app.app_context():
        product = db.session.get(Product, pid)
        old = {k: v["value"] for k, v in product.attributes.items()}
        form = {"title": product.title, "description": product.description, "tags": ", ".join(product.tags),
                **{f"attr_{k}": v for k, v in old.items()}, "csrf_token": token}
    new = {"category": "earrings" if old["category"] != "earrings" else "bracelet",
           "metal": "platinum" if old["metal"] != "platinum" else "silver"}
    client.post(f"/products/{pid}", data={**form, "attr_category": new["category"], "attr_metal": new["metal"]})

    texts = []
    for _ in range(2):
        client.post(f"/products/{pid}/regenerate", data={"csrf_token": token, "tone": "elegant",
                                                         "length": "medium", "replace": ["title", "description",
                                                                                         "tags"]})
        job_id = latest_job(app, pid)
        assert wait_for_job(client, f"/jobs/{job_id}", timeout=240)["state"] == "ready"
        with app.app_context():
            product = db.session.get(Product, pid)
            assert {k: product.attributes[k]["value"] for k in new} == new  # unchanged by the run
            words = f" {product.title} {product.description} ".lower()
            assert new["category"] in words and new["metal"] in words, words
            assert f" {old['category']} " not in words and f" {old['metal']} " not in words, words
            assert f"{new['metal']} {new['category']}" in product.tags, product.tags
            assert not any(old["category"] in t.split() or t == old["metal"] for t in product.tags)
            texts.append(product.description)
    assert texts[0] != texts[1]  # a new seed per run: the same options, new wording
