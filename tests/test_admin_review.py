"""The review queue, the audit log and the dashboard, through the admin's own pages."""
from sqlalchemy import select

from tests.factories import RESULT, ready_product, user_id
from tests.support import csrf_from, register
from webapp.extensions import db
from webapp.history_tables import AuditEvent, InaccuracyReport, ListingDiff
from webapp.models import Product

ADMIN = "admin@example.com"
ARTISAN = "artisan@example.com"


def signed_in(app, email):
    client = app.test_client()
    token = register(client, email)
    return client, token


def submitted(app, client, token, result=None) -> int:
    with app.app_context():
        pid = ready_product(ARTISAN, result)
    assert client.post(f"/products/{pid}/submit", data={"csrf_token": token}).status_code == 302
    return pid


def status_of(app, pid):
    with app.app_context():
        return db.session.get(Product, pid).status


def test_queue_lists_submissions_lowest_confidence_first_and_filters(app):
    artisan, token = signed_in(app, ARTISAN)
    unsure = dict(RESULT, title="Unsure ring", attributes={**RESULT["attributes"],
                                                          "metal": {"value": "silver", "confidence": 0.2}})
    sure = dict(RESULT, title="Sure necklace", attributes={
        name: dict(attr, confidence=0.95) for name, attr in RESULT["attributes"].items()})
    sure["attributes"]["category"] = {"value": "necklace", "confidence": 0.95}
    first, second = submitted(app, artisan, token, sure), submitted(app, artisan, token, unsure)
    admin, _ = signed_in(app, ADMIN)
    html = admin.get("/admin/").get_data(as_text=True)
    assert html.index("Unsure ring") < html.index("Sure necklace")
    assert "20%" in html
    only_necklaces = admin.get("/admin/?category=necklace").get_data(as_text=True)
    assert "Sure necklace" in only_necklaces and "Unsure ring" not in only_necklaces
    assert "Unsure ring" not in admin.get("/admin/?status=approved").get_data(as_text=True)
    assert first != second


def test_approve_publishes_and_records_who_and_the_unchanged_diff(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    page = admin.get(f"/admin/products/{pid}").get_data(as_text=True)
    assert "Gold ring with a ruby" in page and "<img" in page  # photo and listing side by side
    assert admin.post(f"/admin/products/{pid}/approve", data={"csrf_token": admin_token}).status_code == 302
    assert status_of(app, pid) == "approved"
    with app.app_context():
        diff = db.session.scalar(select(ListingDiff).where(ListingDiff.stage == "approved"))
        assert diff.changed_fields == []
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "product.approve"))
        assert event.actor_id == user_id(ADMIN) and event.changes["status"] == ["in_review", "approved"]
    assert "Gold ring with a ruby" in app.test_client().get("/catalogue/").get_data(as_text=True)


def test_edit_and_approve_stores_the_diff_between_generated_and_final_text(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    form = {"csrf_token": admin_token, "title": "Ruby ring in gold", "description": RESULT["description"],
            "tags": "ring, gold, ruby", **{f"attr_{k}": v["value"] for k, v in RESULT["attributes"].items()}}
    form["attr_metal"] = "rose gold"
    assert admin.post(f"/admin/products/{pid}/approve", data=form).status_code == 302
    with app.app_context():
        product = db.session.get(Product, pid)
        assert (product.status, product.title, product.metal) == ("approved", "Ruby ring in gold", "rose gold")
        diff = db.session.scalar(select(ListingDiff).where(ListingDiff.stage == "approved"))
        # rose gold rules out the model's gold-tone colour, which is emptied for a person to set
        assert diff.changed_fields == ["title", "attributes.metal", "attributes.colour"]
        assert product.attributes["colour"]["value"] == "" and product.attributes["colour"]["flagged"]
        assert diff.fields["title"]["generated"] == "Gold ring with a ruby"
        assert "+Ruby ring in gold" in diff.fields["title"]["diff"]


def test_reject_needs_a_reason_and_the_artisan_sees_it(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{pid}/reject", data={"csrf_token": admin_token, "reason": ""})
    assert status_of(app, pid) == "in_review"
    admin.post(f"/admin/products/{pid}/reject", data={"csrf_token": admin_token,
                                                      "reason": "The photo is blurred."})
    assert status_of(app, pid) == "rejected"
    assert "The photo is blurred." in artisan.get(f"/products/{pid}").get_data(as_text=True)
    assert "Gold ring" not in app.test_client().get("/catalogue/").get_data(as_text=True)


def test_bulk_approve_publishes_only_listings_in_review(app):
    artisan, token = signed_in(app, ARTISAN)
    in_review = [submitted(app, artisan, token) for _ in range(2)]
    with app.app_context():
        draft = ready_product(ARTISAN)
    admin, admin_token = signed_in(app, ADMIN)
    response = admin.post("/admin/bulk-approve", data={"csrf_token": admin_token,
                                                       "ids": [*map(str, in_review), str(draft)]})
    assert response.status_code == 302
    assert [status_of(app, pid) for pid in in_review] == ["approved", "approved"]
    assert status_of(app, draft) == "draft"  # nothing is published without being reviewed


def test_nothing_an_artisan_sends_can_publish(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    artisan.post(f"/products/{pid}", data={"csrf_token": token, "title": "New", "status": "approved"})
    assert status_of(app, pid) == "draft"  # an edit takes it back out of review
    assert "New" not in app.test_client().get("/catalogue/").get_data(as_text=True)


def test_every_state_change_is_in_the_audit_log(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    artisan.post(f"/products/{pid}", data={"csrf_token": token, "title": "Edited title",
                                           "description": RESULT["description"], "tags": "ring"})
    artisan.post(f"/products/{pid}/submit", data={"csrf_token": token})
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{pid}/approve", data={"csrf_token": admin_token})
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.product_id == pid)
                                    .order_by(AuditEvent.id)).all()
        actions = [e.action for e in events]
        assert actions[:1] == ["product.create"]
        assert actions[-4:] == ["product.submit", "product.edit", "product.submit", "product.approve"]
        edit = events[-3]
        assert edit.actor_id == user_id(ARTISAN)
        assert edit.changes["title"] == ["Gold ring with a ruby", "Edited title"]
        assert edit.changes["status"] == ["in_review", "draft"]
    page = admin.get(f"/admin/audit?product={pid}").get_data(as_text=True)
    assert "product.approve" in page and ARTISAN in page and ADMIN in page


def test_dashboard_shows_the_numbers(app):
    artisan, token = signed_in(app, ARTISAN)
    as_is, edited = submitted(app, artisan, token), submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{as_is}/approve", data={"csrf_token": admin_token})
    form = {"csrf_token": admin_token, "title": "Changed", "description": "Changed text here.", "tags": "x"}
    admin.post(f"/admin/products/{edited}/approve", data=form)
    html = admin.get("/admin/dashboard").get_data(as_text=True)
    assert '<p class="stat-value" id="approved-unedited">50%</p>' in html
    # Two of five attributes (metal 0.41, colour 0.55) are under 0.6, in each listing.
    assert '<p class="stat-value" id="low-confidence">40%</p>' in html
    assert "<td>2</td>" in html  # two approved today


def test_a_customer_report_reaches_the_admin_queue(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{pid}/approve", data={"csrf_token": admin_token})
    customer = app.test_client()
    page = customer.get(f"/catalogue/{pid}").get_data(as_text=True)
    response = customer.post(f"/catalogue/{pid}/report", data={
        "csrf_token": csrf_from(page), "message": "The stone is pink, not red."})
    assert response.status_code == 302
    reported = admin.get("/admin/?status=reported").get_data(as_text=True)
    assert "Gold ring with a ruby" in reported
    review = admin.get(f"/admin/products/{pid}").get_data(as_text=True)
    assert "The stone is pink, not red." in review
    with app.app_context():
        report_id = db.session.scalar(select(InaccuracyReport.id))
    admin.post(f"/admin/reports/{report_id}/resolve", data={"csrf_token": admin_token})
    assert "Gold ring with a ruby" not in admin.get("/admin/?status=reported").get_data(as_text=True)


def test_a_listing_being_rewritten_cannot_be_approved_until_done(app):
    from webapp.models import Job

    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    with app.app_context():
        db.session.scalar(select(Job).where(Job.product_id == pid)).state = "processing"
        db.session.commit()
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{pid}/approve", data={"csrf_token": admin_token})
    admin.post("/admin/bulk-approve", data={"csrf_token": admin_token, "ids": str(pid)})
    assert status_of(app, pid) == "in_review"


def test_regenerating_a_published_listing_takes_it_back_to_draft(app):
    artisan, token = signed_in(app, ARTISAN)
    pid = submitted(app, artisan, token)
    admin, admin_token = signed_in(app, ADMIN)
    admin.post(f"/admin/products/{pid}/approve", data={"csrf_token": admin_token})
    artisan.post(f"/products/{pid}/regenerate", data={"csrf_token": token, "tone": "minimal", "length": "short"})
    assert status_of(app, pid) == "draft"
    assert "Gold ring" not in app.test_client().get("/catalogue/").get_data(as_text=True)
