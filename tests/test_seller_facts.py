"""The seller's facts on the product page, the review page and the public page; typing kept on Regenerate."""
from tests.factories import ready_product
from tests.support import register
from tests.test_artisan_listing import ARTISAN, form_from
from webapp.extensions import db
from webapp.models import Product

FACTS = {"fact_price": "120,5", "fact_currency": "gbp", "fact_quantity": "2", "fact_sku": "RG-01",
         "fact_size": "UK size N", "fact_weight": "5 g", "fact_materials": "925 sterling silver",
         "fact_technique": "lost-wax cast", "fact_origin": "Sheffield", "fact_care": "polish with a soft cloth",
         "fact_story": "cast from a ring my grandfather carved"}


def test_the_product_form_saves_the_facts_and_refuses_bad_ones(app, client):
    token = register(client)
    with app.app_context():
        pid = ready_product(ARTISAN)
    client.post(f"/products/{pid}", data={**form_from(), **FACTS, "csrf_token": token})
    with app.app_context():
        product = db.session.get(Product, pid)
        assert (str(product.price), product.currency, product.quantity) == ("120.50", "GBP", 2)
        assert (product.materials, product.technique, product.story) == (
            "925 sterling silver", "lost-wax cast", "cast from a ring my grandfather carved")
    html = client.get(f"/products/{pid}").get_data(as_text=True)
    assert 'value="925 sterling silver"' in html and 'value="120.50"' in html

    for bad, message in (({"fact_price": "a lot"}, "Price must be a number"),
                         ({"fact_currency": ""}, "price and its currency together"),
                         ({"fact_quantity": "-3"}, "whole number")):
        page = client.post(f"/products/{pid}", data={**form_from(title="Changed"), **FACTS, **bad,
                                                     "csrf_token": token}, follow_redirects=True)
        assert message in page.get_data(as_text=True)
    with app.app_context():
        product = db.session.get(Product, pid)
        assert product.title != "Changed" and product.currency == "GBP"  # nothing half-saved


def test_facts_show_on_the_review_and_public_pages(app, client):
    token = register(client)
    with app.app_context():
        pid = ready_product(ARTISAN, status="approved")
        product = db.session.get(Product, pid)
        product.materials, product.origin = "925 sterling silver", "Sheffield"
        product.price, product.currency = 80, "EUR"
        db.session.commit()
    public = client.get(f"/catalogue/{pid}").get_data(as_text=True)
    assert "925 sterling silver" in public and "Sheffield" in public and "80.00 EUR" in public
    client.post("/logout", data={"csrf_token": token})
    register(client, "admin@example.com")
    review = client.get(f"/admin/products/{pid}").get_data(as_text=True)
    assert "The seller's details" in review and "925 sterling silver" in review and "80.00 EUR" in review


def test_regenerate_saves_what_was_typed_first(app, client):
    token = register(client)
    with app.app_context():
        pid = ready_product(ARTISAN)
    typed = "Typed but not saved: my own description."
    panel = client.post(f"/products/{pid}/regenerate", headers={"HX-Request": "true"}, data={
        **form_from(description=typed), "tone": "playful", "length": "short", "csrf_token": token})
    assert panel.status_code == 200 and typed in panel.get_data(as_text=True)
    with app.app_context():
        product = db.session.get(Product, pid)
        assert product.description == typed and "description" in product.edited_fields
        assert product.latest_job.kind == "regenerate"  # and the new version was asked for

    refused = client.post(f"/products/{pid}/regenerate", headers={"HX-Request": "true"}, data={
        **form_from(title="", description="Second typing"), "tone": "playful", "length": "short",
        "csrf_token": token})
    html = refused.get_data(as_text=True)
    assert "Your typing was not saved" in html and "Second typing" in html  # still on the page
