"""The admin's label mappings page (/admin/labels) on real services: adding and removing a mapping
(with its audit entry), refusals that say why and save nothing, admins only, and imports that
read the catalogue through the mappings the page saved."""
import csv
import io
import json

import pytest
from PIL import Image
from sqlalchemy import select

from tests.support import csrf_from, register
from webapp.extensions import db
from webapp.history_tables import AuditEvent
from webapp.training_tables import LabelMapping, TrainingItem

ADMIN = "admin@example.com"


def admin_client(app):
    client = app.test_client()
    register(client, ADMIN)
    return client


def post_mapping(client, attribute, raw, value):
    token = csrf_from(client.get("/admin/labels").get_data(as_text=True))
    return client.post("/admin/labels", data={"attribute": attribute, "raw": raw, "value": value,
                                              "csrf_token": token})


def saved(app) -> dict:
    with app.app_context():
        return {(m.attribute, m.raw): m.value for m in db.session.scalars(select(LabelMapping))}


def audit_actions(app) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(e.action, e.changes) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("label_mapping.%")).order_by(AuditEvent.id))]


def test_admin_adds_and_removes_a_mapping_and_each_change_is_audited(app):
    client = admin_client(app)
    assert 'href="/admin/labels"' in client.get("/admin/dashboard").get_data(as_text=True)  # linked from the nav
    response = post_mapping(client, "category", "  Pendientes ", "Earrings")
    assert response.status_code == 302
    assert saved(app) == {("category", "pendientes"): "earrings"}  # stored as imports read labels
    page = client.get("/admin/labels").get_data(as_text=True)
    assert "Imports now read category &#39;pendientes&#39; as &#39;earrings&#39;." in page
    assert "<td>pendientes</td><td>earrings</td>" in page

    assert post_mapping(client, "category", "pendientes", "earrings").status_code == 302  # the same again: no-op
    token = csrf_from(page)
    removed = client.post("/admin/labels/remove", data={"attribute": "category", "raw": "pendientes",
                                                        "csrf_token": token})
    assert removed.status_code == 302 and saved(app) == {}
    assert "<td>pendientes</td>" not in client.get("/admin/labels").get_data(as_text=True)
    with app.app_context():
        admin_id = db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "label_mapping.set"))
        from tests.factories import user_id

        assert admin_id == user_id(ADMIN)
    assert audit_actions(app) == [
        ("label_mapping.set", {"category 'pendientes'": [None, "earrings"]}),
        ("label_mapping.remove", {"category 'pendientes'": ["earrings", None]})]
    assert "label_mapping.remove" in client.get("/admin/audit").get_data(as_text=True)


def test_a_mapping_that_could_not_apply_is_refused_with_the_reason_and_nothing_is_saved(app):
    client = admin_client(app)
    assert post_mapping(client, "metal", "gold tone", "gold").status_code == 302
    refused = {
        ("shape", "round", "ring"): "Not a valid choice",
        ("category", "rings", ""): "This field is required.",
        ("category", "ring", " RING "): "would be read as itself",
        ("category", "x" * 41, "ring"): "longer than 40 characters",
        ("metal", "or jaune", "gold tone"): "&#39;gold tone&#39; is itself read as &#39;gold&#39;",
        ("metal", "gold", "yellow gold"): "&#39;gold tone&#39; is read as &#39;gold&#39;: remove or change that",
    }
    for (attribute, raw, value), message in refused.items():
        response = post_mapping(client, attribute, raw, value)
        assert response.status_code == 400, (attribute, raw, value)
        assert message in response.get_data(as_text=True), (attribute, raw, value)
    cli = app.test_cli_runner().invoke(args=["catalog", "map", "metal", "or jaune", "gold tone"])
    assert cli.exit_code != 0 and "'gold tone' is itself read as 'gold'" in cli.output  # the same rules
    assert saved(app) == {("metal", "gold tone"): "gold"}
    assert [a for a, _ in audit_actions(app)] == ["label_mapping.set"]
    assert client.post("/admin/labels", data={"attribute": "category", "raw": "a", "value": "b"}).status_code == 400
    assert saved(app) == {("metal", "gold tone"): "gold"}  # no CSRF token, nothing saved


def test_only_admins_see_or_change_the_mappings(app):
    admin = admin_client(app)
    post_mapping(admin, "category", "pendientes", "earrings")
    artisan = app.test_client()
    token = register(artisan, "maker@example.com")
    assert artisan.get("/admin/labels").status_code == 403
    assert artisan.post("/admin/labels", data={"attribute": "category", "raw": "anillo", "value": "ring",
                                               "csrf_token": token}).status_code == 403
    assert artisan.post("/admin/labels/remove", data={"attribute": "category", "raw": "pendientes",
                                                      "csrf_token": token}).status_code == 403
    stranger = app.test_client().get("/admin/labels")
    assert stranger.status_code == 302 and "/login" in stranger.headers["Location"]
    assert saved(app) == {("category", "pendientes"): "earrings"}


def photo(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (shade, 255 - shade, 90)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def catalogue(tmp_path):
    """Two CSVs of one folder, as a marketplace exports them in two goes; its own spellings."""
    def write(name, rows):
        for path, *_ in rows:
            (tmp_path / path).write_bytes(photo(int(path[1:].split(".")[0]) * 20))
        with open(tmp_path / name, "w", newline="") as f:
            csv.writer(f).writerows([["path", "category", "metal"], *rows])
        return tmp_path / name

    first = write("first.csv", [["p1.jpg", "Pendientes", "oro"], ["p2.jpg", "pendientes", "plata"],
                                ["p3.jpg", "Rings", "gold"]])
    second = write("second.csv", [["p4.jpg", "PENDIENTES", "oro"], ["p5.jpg", "anillo", "gold"]])
    return tmp_path, first, second


def import_folder(app, labels, root) -> dict:
    result = app.test_cli_runner().invoke(args=["catalog", "import-folder", "--labels", str(labels),
                                                "--images-root", str(root), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])


def test_imports_read_the_labels_through_the_mappings_added_on_the_page(app, catalogue, service_env):
    root, first, second = catalogue
    assert import_folder(app, first, root)["new_values"] == {"category=pendientes": 2, "metal=oro": 1,
                                                             "metal=plata": 1}
    client = admin_client(app)
    page = client.get("/admin/labels").get_data(as_text=True)
    # What the import found that the taxonomy lacks, with how many photos carry it.
    assert "<td>category</td><td>pendientes</td><td>2</td>" in page and "<td>metal</td><td>oro</td><td>1</td>" in page
    assert "<td>ring</td>" not in page  # "Rings" was read as the known value

    response = post_mapping(client, "category", "pendientes", "earrings")
    assert response.status_code == 302
    assert post_mapping(client, "metal", "oro", "gold").status_code == 302
    page = client.get("/admin/labels").get_data(as_text=True)
    assert "1 imported photo relabelled." in page
    assert "<td>pendientes</td><td>2</td>" not in page and "<td>metal</td><td>plata</td><td>1</td>" in page
    with app.app_context():
        labels = {i.source_id: (i.category, i.metal) for i in db.session.scalars(select(TrainingItem))}
    assert labels == {"p1.jpg": ("earrings", "gold"), "p2.jpg": ("earrings", "plata"), "p3.jpg": ("ring", "gold")}
    assert ("label_mapping.set", {"category 'pendientes'": [None, "earrings"], "relabelled photos": [None, 2]}) \
        in audit_actions(app)

    summary = import_folder(app, second, root)  # a later import reads the new rows through the mapping
    assert summary["imported"] == 2 and summary["mapped"] == {"category=pendientes->earrings": 1,
                                                               "metal=oro->gold": 1}
    assert summary["new_values"] == {"category=anillo": 1}
    with app.app_context():
        item = db.session.scalar(select(TrainingItem).where(TrainingItem.source_id == "p4.jpg"))
        assert (item.category, item.metal) == ("earrings", "gold")
