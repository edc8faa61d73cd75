"""The public listing page: every photo, the shop, schema.org JSON-LD and Open Graph; the shop
page; the catalogue's text search."""
import json
import re

from tests.factories import RESULT, ready_product
from tests.support import register
from webapp.extensions import db
from webapp.models import Photo, Product, User, new_id


def json_ld(html: str) -> dict:
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    return json.loads(block)


def test_public_page_shows_every_photo_the_shop_and_structured_data(app, client):
    token = register(client, "maker@example.com")
    client.post("/account/shop", data={"csrf_token": token, "shop_name": "Silver & Stone"})
    with app.app_context():
        pid = ready_product("maker@example.com", status="approved")
        product = db.session.get(Product, pid)
        owner = product.owner_id
        db.session.add(Photo(product=product, object_key=f"media/uploads/{owner}/{new_id()}.jpg",
                             content_type="image/jpeg", thumbnail_key=f"media/uploads/{owner}/{new_id()}.t.jpg"))
        db.session.commit()
    html = app.test_client().get(f"/catalogue/{pid}").get_data(as_text=True)
    assert html.count("photo 1 of 2") == 1 and html.count("photo 2 of 2") == 1
    assert "Silver &amp; Stone" in html and f'href="/catalogue/shop/{owner}"' in html
    data = json_ld(html)
    assert data["@type"] == "Product" and data["name"] == RESULT["title"]
    assert data["brand"] == {"@type": "Brand", "name": "Silver & Stone"}
    assert len(data["image"]) == 2 and data["material"] == "gold" and data["category"] == "ring"
    assert data["url"].endswith(f"/catalogue/{pid}")
    assert "offers" not in data  # no price given: no offer invented
    with app.app_context():
        from decimal import Decimal

        product = db.session.get(Product, pid)
        product.price, product.currency, product.quantity = Decimal("85"), "GBP", 0
        db.session.commit()
    priced = json_ld(app.test_client().get(f"/catalogue/{pid}").get_data(as_text=True))
    assert priced["offers"]["price"] == "85.00" and priced["offers"]["priceCurrency"] == "GBP"
    assert priced["offers"]["availability"] == "https://schema.org/OutOfStock"
    og = dict(re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)"', html))
    assert og["og:type"] == "product" and og["og:title"] == RESULT["title"] and og["og:image"].startswith("http")
    shop = app.test_client().get(f"/catalogue/shop/{owner}").get_data(as_text=True)
    assert "<h1>Silver &amp; Stone</h1>" in shop and RESULT["title"] in shop


def test_shop_page_shows_only_published_pieces_and_no_email(app, client):
    register(client, "maker@example.com")
    with app.app_context():
        ready_product("maker@example.com", status="approved")
        ready_product("maker@example.com", result={**RESULT, "title": "Unfinished draft"})
        owner = db.session.scalar(db.select(User.id))
    html = app.test_client().get(f"/catalogue/shop/{owner}").get_data(as_text=True)
    assert RESULT["title"] in html and "Unfinished draft" not in html
    assert "maker@example.com" not in html and f"Artisan #{owner}" in html
    assert app.test_client().get("/catalogue/shop/999999").status_code == 404


def test_catalogue_search_matches_title_description_and_tags(app, client):
    register(client, "maker@example.com")
    with app.app_context():
        ready_product("maker@example.com", status="approved",
                      result={**RESULT, "title": "Silver hoop earrings", "tags": ["hoops", "everyday"],
                              "description": "Light hoops in polished silver."})
        ready_product("maker@example.com", status="approved")
        ready_product("maker@example.com", result={**RESULT, "title": "Silver draft hoop"})

    def titles(q):
        html = app.test_client().get("/catalogue/", query_string={"q": q}).get_data(as_text=True)
        return set(re.findall(r'<span class="tile-title">([^<]+)</span>', html))

    assert titles("silver hoop") == {"Silver hoop earrings"}  # every word, published only
    assert titles("everyday") == {"Silver hoop earrings"}  # a tag
    assert titles("deep red") == {RESULT["title"]}  # the description
    assert titles("100%") == set()  # LIKE wildcards are taken literally
    assert titles("") == {"Silver hoop earrings", RESULT["title"]}
