"""The marketplace's own taxonomy end to end, on real services: a catalogue whose labels include a
category and a metal the default taxonomy lacks, and the finer attributes (type, finish, stone
count), goes through import and training; the promoted version predicts the new category and its
new type, and the edit form, the catalogue filter and the API schema offer it."""
import csv
import io
import json

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw

from ml.taxonomy import DEFAULT
from tests.factories import RESULT, ready_product
from tests.support import register
from webapp import taxonomy
from webapp.extensions import db
from webapp.models import Product
from webapp.storage import get_store
from webapp.training_tables import LABEL_ATTRIBUTES, ModelVersion, TrainingItem
from workers.training import registry


def tiara(rng) -> Image.Image:
    """A stand-in photo of a tiara: a jagged crown of points on a dark cloth, varied per seed."""
    img = Image.new("RGB", (64, 64), tuple(int(c) for c in rng.integers(10, 50, 3)))
    d = ImageDraw.Draw(img)
    base, n = int(rng.integers(38, 46)), int(rng.integers(4, 7))
    points = [(4, base)] + [(4 + (56 * (k + 0.5)) // n, int(rng.integers(8, 20))) for k in range(n)] + [(60, base)]
    d.line(points, fill=(235, 235, 240), width=4)
    d.rectangle((4, base, 60, base + 5), fill=(220, 220, 230))
    return img


def jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.fixture
def catalogue(tmp_path):
    from ml.starter_catalog import generate_catalog

    rng = np.random.default_rng(4)
    rows = []
    for i, item in enumerate(generate_catalog(24, seed=12, image_size=64)):
        (tmp_path / f"d{i}.jpg").write_bytes(jpeg(item.image))
        lab = item.labels
        rows.append([f"d{i}.jpg", lab["category"], lab["metal"], lab["gemstone"], DEFAULT.types[lab["category"]][0],
                     ("Polished", "matte")[i % 2], "none" if lab["gemstone"] == "none" else "one"])
    for i in range(12):
        (tmp_path / f"t{i}.jpg").write_bytes(jpeg(tiara(rng)))
        # Neither the category, the metal nor the type is in the default taxonomy.
        rows.append([f"t{i}.jpg", "Tiara", "Palladium", "none", "Crown", "hammered", "none"])
    category = rows[0][1]
    wrong_type = next(t for t in DEFAULT.values("type") if t not in DEFAULT.types[category])
    rows[0][4] = wrong_type  # a type the category cannot have: kept, with the type left empty
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "category", "metal", "gemstone", "type", "finish", "stone_count"], *rows])
    return tmp_path, rng, f"type={wrong_type} (contradicts category={category})"


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])


@pytest.fixture
def promoted_back(app):
    """Later tests expect the default taxonomy: the version promoted here is rolled back."""
    yield
    with app.app_context():
        if db.session.scalar(db.select(ModelVersion).where(ModelVersion.status == "promoted",
                                                          ModelVersion.version.like("catalog-%"))):
            registry.rollback()
    taxonomy.forget()


def test_a_new_category_and_metal_go_from_import_to_the_listing_the_form_the_filter_and_the_api(
        app, model_dir, catalogue, tmp_path, monkeypatch, promoted_back):
    folder, rng, contradiction = catalogue
    for key, value in (("MODEL_DIR", str(model_dir)), ("MODEL_CACHE_DIR", str(tmp_path / "registry")),
                       ("FEATURE_CACHE_DIR", str(tmp_path / "features")), ("HOLDOUT_PERCENT", 20)):
        monkeypatch.setitem(app.config, key, value)
    assert not DEFAULT.knows("category", "tiara") and not DEFAULT.knows("metal", "palladium")

    summary = cli(app, "catalog", "import-folder", "--labels", str(folder / "labels.csv"),
                  "--images-root", str(folder), "--json")
    assert summary["imported"] == 36 and summary["skipped"] == {}
    assert summary["new_values"] == {"category=tiara": 12, "metal=palladium": 12, "type=crown": 12}
    assert summary["values"]["category"]["tiara"] == 12
    assert summary["values"]["finish"] == {"polished": 12, "matte": 12, "hammered": 12}
    assert summary["left_empty"] == {contradiction: 1}
    with app.app_context():  # every attribute is stored
        stored = {i.source_id: i.labels() for i in db.session.scalars(db.select(TrainingItem))}
    assert stored["t0.jpg"] == {"category": "tiara", "metal": "palladium", "gemstone": "none", "style": None,
                                "colour": None, "type": "crown", "finish": "hammered", "stone_count": "none"}
    assert stored["d0.jpg"]["type"] is None and stored["d1.jpg"]["finish"] == "matte"

    result = cli(app, "ml", "train", "--epochs", "3", "--text-epochs", "1", "--min-descriptions", "1000",
                 "--min-labels", "4", "--no-finetune", "--no-gate", "--json")
    assert result["promoted"]
    assert "linear_probe" in result["gate"] and "coverage" in result["gate"]["candidate"]["category"]
    with app.app_context():
        row = db.session.scalar(db.select(ModelVersion).where(ModelVersion.version == result["version"]))
        assert "tiara" in row.taxonomy["attributes"]["category"]
        assert "palladium" in row.taxonomy["attributes"]["metal"]
        assert "crown" in row.taxonomy["types"]["tiara"]  # a new type, valid for the category it came with
        for attr in ("type", "finish", "stone_count"):  # the finer attributes were learned
            assert row.metrics["heads"][attr]["trained"], (attr, row.metrics["heads"][attr])
        assert "crown" in row.label_set["type"] and set(row.label_set["finish"]) == {"polished", "matte", "hammered"}
        from ml.listing import ListingGenerator

        generator = ListingGenerator.load(registry.fetch(get_store(), row, app.config["MODEL_CACHE_DIR"]))
    listing = generator.generate([tiara(rng) for _ in range(3)])
    assert [x["attributes"]["category"]["value"] for x in listing] == ["tiara"] * 3  # a listing of the new category
    assert [x["attributes"]["type"]["value"] for x in listing] == ["crown"] * 3

    taxonomy.forget()
    client = app.test_client()
    register(client, "tiaras@example.com")
    with app.app_context():
        assert taxonomy.current().knows("category", "tiara")
        pid = ready_product("tiaras@example.com", result=RESULT)
    form = client.get(f"/products/{pid}").get_data(as_text=True)
    assert '<option value="tiara">' in form and '<option value="palladium">' in form  # the edit form offers it
    shop = app.test_client().get("/catalogue/?category=tiara").get_data(as_text=True)
    assert 'value="tiara"' in shop  # the catalogue filter lists it
    spec = yaml.safe_load(client.get("/api/v1/openapi.yaml").get_data(as_text=True))
    values = spec["components"]["schemas"]["AttributeValues"]["properties"]
    assert "tiara" in values["category"]["enum"] and "palladium" in values["metal"]["enum"]  # the API allows it


def test_every_attribute_of_the_default_taxonomy_has_a_training_label_column():
    assert set(DEFAULT.names) <= set(LABEL_ATTRIBUTES)
    assert set(LABEL_ATTRIBUTES) <= set(TrainingItem.__table__.columns.keys())


def test_an_approved_listing_teaches_its_finer_attributes_too(app, service_env):
    from workers.training.feedback import sync_feedback

    register(app.test_client(), "maker@example.com")
    attributes = {**RESULT["attributes"], "type": {"value": "band", "confidence": 0.3},
                  "finish": {"value": "hammered", "confidence": 0.95},  # sure enough that nobody was asked
                  "stone_count": {"value": "one", "confidence": 0.3}}  # unsure and never checked
    with app.app_context():
        pid = ready_product("maker@example.com", result={**RESULT, "attributes": attributes}, status="approved")
        product = db.session.get(Product, pid)
        product.attributes = {**product.attributes, "type": {"value": "signet", "source": "artisan"}}  # a person's
        db.session.commit()
        photo = product.photos[0]
        get_store().write(photo.object_key, jpeg(Image.new("RGB", (48, 48), (200, 170, 60))), "image/jpeg")
        assert sync_feedback(get_store(), app.config)["added"] == 1
        db.session.remove()  # read back what the database holds
        item = db.session.scalar(db.select(TrainingItem).where(TrainingItem.source == "feedback"))
        assert (item.category, item.type, item.finish, item.stone_count) == ("ring", "signet", "hammered", None)
