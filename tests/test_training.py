"""Catalogue import, training, evaluation and the model registry, on tiny data and real services:
MariaDB (a source table in a scratch database), the session's S3 bucket, the Celery worker."""
import csv
import io
import json
import re
import time
import uuid
from pathlib import Path

import boto3
import mysql.connector
import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import MYSQL_HOST
from tests.factories import RESULT, ready_product, user_id
from tests.support import register
from webapp.extensions import db
from webapp.history_tables import InaccuracyReport
from webapp.models import Photo, PhotoHeatmap, Product, utcnow
from webapp.storage import get_store
from webapp.training_tables import ModelVersion, TrainingItem
from workers.training import registry

N_ITEMS = 40  # enough for a validation split that lets fine-tuning run


@pytest.fixture(scope="module")
def drawn_items():
    """Labelled drawings (64 px) standing in for a marketplace's photos."""
    from ml.description_templates import fill_slots
    from ml.starter_catalog import generate_catalog

    items = generate_catalog(N_ITEMS, seed=11, image_size=64)
    out = []
    for it in items:
        buf = io.BytesIO()
        it.image.save(buf, "JPEG", quality=90)
        out.append({"jpeg": buf.getvalue(), "labels": it.labels,
                    "description": fill_slots(it.template, it.labels)})
    return out


@pytest.fixture
def labelled_folder(tmp_path, drawn_items):
    """A folder of photos and a labels CSV with one of each problem the importer must report."""
    root = tmp_path / "photos"
    root.mkdir()
    rows = []
    for i, item in enumerate(drawn_items):
        (root / f"{i}.jpg").write_bytes(item["jpeg"])
        lab = item["labels"]
        rows.append([f"{i}.jpg", lab["category"], lab["metal"], lab["gemstone"], item["description"]])
    Image.open(io.BytesIO(drawn_items[0]["jpeg"])).save(root / "tiara.jpg", "JPEG", quality=60)
    (root / "broken.jpg").write_bytes(b"this is not a picture")
    rows += [["gone.jpg", "ring", "gold", "", ""],        # missing image
             ["tiara.jpg", "Tiaras", "gold", "", ""],     # a category the taxonomy lacks: kept, listed as new
             ["broken.jpg", "ring", "", "", ""]]          # unreadable image
    rows[0][2] = "palladium"                              # a new metal: kept, listed as new
    rows[1][1] = "Rings" if rows[1][1] == "ring" else rows[1][1] + "s"  # a plural: read as the value
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "category", "metal", "gemstone", "description"])
        writer.writerows(rows)
    return labels, root


@pytest.fixture
def ml_app(app, model_dir, tmp_path, monkeypatch):
    """The app with the tiny starter as MODEL_DIR and scratch model/feature caches."""
    monkeypatch.setitem(app.config, "MODEL_DIR", str(model_dir))
    monkeypatch.setitem(app.config, "MODEL_CACHE_DIR", str(tmp_path / "registry"))
    monkeypatch.setitem(app.config, "FEATURE_CACHE_DIR", str(tmp_path / "features"))
    monkeypatch.setitem(app.config, "HOLDOUT_PERCENT", 25)
    return app


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def last_json(output: str) -> dict:
    return json.loads([line for line in output.splitlines() if line.startswith("{")][-1])


def bucket_keys(service_env, prefix):
    s3 = boto3.client("s3", endpoint_url=service_env["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=service_env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=service_env["AWS_SECRET_ACCESS_KEY"])
    found = s3.list_objects_v2(Bucket=service_env["S3_BUCKET_NAME"], Prefix=prefix)
    return [o["Key"] for o in found.get("Contents", [])]


TRAIN_ARGS = ("ml", "train", "--epochs", "3", "--text-epochs", "1", "--min-descriptions", "4", "--min-labels", "4",
              "--json")


def test_import_folder_reports_every_skip_and_is_idempotent(app, labelled_folder, service_env):
    labels, root = labelled_folder
    cli(app, "catalog", "map", "category", "tiaras", "tiara")  # the admin's mapping, stored in the database
    summary = last_json(cli(app, "catalog", "import-folder", "--labels", str(labels),
                            "--images-root", str(root), "--json"))
    assert summary["imported"] == N_ITEMS + 1  # a row is refused only with a reason
    assert summary["skipped"] == {"missing image": 1, "unreadable image": 1}
    assert summary["new_values"] == {"category=tiara": 1, "metal=palladium": 1}
    assert summary["mapped"]["category=tiaras->tiara"] == 1 and len(summary["mapped"]) == 2  # and the plural
    assert summary["values"]["category"]["tiara"] == 1
    assert sum(summary["values"]["category"].values()) == N_ITEMS + 1
    listed = last_json(cli(app, "catalog", "mappings", "--json"))
    assert listed["mappings"] == {"category": {"tiaras": "tiara"}}
    with app.app_context():
        items = db.session.scalars(select(TrainingItem)).all()
        assert len(items) == N_ITEMS + 1
        first = next(i for i in items if i.source_id == "0.jpg")
        assert first.metal == "palladium" and first.category and first.description
        assert next(i for i in items if i.source_id == "1.jpg").category in ("ring", "earrings", "necklace",
                                                                             "pendant", "bracelet", "brooch")
        assert first.provenance == {"csv": "labels.csv", "path": "0.jpg"}
        assert all(i.image_key.startswith("media/training/folder/") for i in items)
        keys = {i.image_key for i in items}
    assert keys <= set(bucket_keys(service_env, "media/training/folder/"))  # other tests share the bucket
    again = last_json(cli(app, "catalog", "import-folder", "--labels", str(labels), "--images-root", str(root),
                          "--json"))
    assert again["imported"] == 0 and again["already_imported"] == N_ITEMS + 1
    with app.app_context():
        assert len(db.session.scalars(select(TrainingItem)).all()) == N_ITEMS + 1


@pytest.fixture
def source_table(drawn_items, service_env):
    """The marketplace's own database: a table in a scratch MariaDB database, photos in S3."""
    name = f"jai_src_{uuid.uuid4().hex[:8]}"
    conn = mysql.connector.connect(host=MYSQL_HOST, user="root", password="")
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE {name}")
    cur.execute(f"CREATE TABLE {name}.listings (listing_id INT PRIMARY KEY, photo VARCHAR(255), "
                "kind VARCHAR(40), metal_name VARCHAR(40), body TEXT, surface VARCHAR(40))")
    s3 = boto3.client("s3", endpoint_url=service_env["S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=service_env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=service_env["AWS_SECRET_ACCESS_KEY"])
    for i, item in enumerate(drawn_items[:6]):
        s3.put_object(Bucket=service_env["S3_BUCKET_NAME"], Key=f"media/shop/{i}.jpg", Body=item["jpeg"])
        cur.execute(f"INSERT INTO {name}.listings VALUES (%s, %s, %s, %s, %s, %s)",
                    (i + 1, f"shop/{i}.jpg", item["labels"]["category"].upper(), item["labels"]["metal"],
                     item["description"], ("Matte", "hammered")[i % 2]))
    s3.put_object(Bucket=service_env["S3_BUCKET_NAME"], Key="media/shop/bad.jpg", Body=b"not an image")
    cur.executemany(f"INSERT INTO {name}.listings VALUES (%s, %s, %s, %s, %s, %s)",
                    [(7, "shop/missing.jpg", "ring", "gold", None, None), (8, "shop/bad.jpg", "ring", None, None, None),
                     (9, "shop/0.jpg", "crown", "gold", None, None)])
    conn.commit()
    yield name
    cur.execute(f"DROP DATABASE {name}")
    conn.close()


def test_import_mysql_maps_columns_reads_s3_and_resumes(app, source_table, service_env, monkeypatch):
    for key, value in {"CATALOG_DB_HOST": MYSQL_HOST, "CATALOG_DB_USER": "root", "CATALOG_DB_PASSWORD": "",
                       "CATALOG_DB_NAME": source_table}.items():
        monkeypatch.setitem(app.config, key, value)
    mapping = ("--table", "listings", "--id-column", "listing_id", "--image-column", "photo",
               "--category-column", "kind", "--metal-column", "metal_name", "--gemstone-column", "",
               "--description-column", "body", "--column", "finish=surface", "--json")
    # Resumable: a run that only saw the first three rows, then the full run.
    partial = last_json(cli(app, "catalog", "import-mysql", "--query",
                            "SELECT listing_id AS id, photo AS image, kind AS category FROM listings "
                            "WHERE listing_id <= 3", "--json"))
    assert partial["imported"] == 3
    summary = last_json(cli(app, "catalog", "import-mysql", *mapping))
    assert summary["imported"] == 3 and summary["already_imported"] == 3
    assert summary["skipped"] == {"missing image": 1, "unreadable image": 1,
                                  "duplicate image (same photo under another id)": 1}  # the crown is shop/0.jpg
    assert summary["new_values"] == {}
    with app.app_context():
        items = db.session.scalars(select(TrainingItem).where(TrainingItem.source == "mysql")).all()
        assert sorted(i.source_id for i in items) == ["1", "2", "3", "4", "5", "6"]
        assert all(i.category == i.category.lower() for i in items)
        # An attribute beyond the named options, from a column of the marketplace's own name.
        assert {i.source_id: i.finish for i in items if i.source_id in ("4", "5")} == {"4": "hammered", "5": "matte"}
        assert {i.provenance["image"] for i in items} == {f"shop/{k}.jpg" for k in range(6)}
    again = last_json(cli(app, "catalog", "import-mysql", *mapping))
    assert again["imported"] == 0 and again["already_imported"] == 6


def test_train_registers_promotes_and_rollback_and_evaluate_work(ml_app, labelled_folder, service_env, tmp_path,
                                                                monkeypatch):
    app = ml_app
    monkeypatch.setitem(app.config, "PROMOTION_TOLERANCE", 1.0)  # a gate any candidate passes
    labels, root = labelled_folder
    cli(app, "catalog", "import-folder", "--labels", str(labels), "--images-root", str(root))
    result = last_json(cli(app, *TRAIN_ARGS, "--finetune"))  # opt-in: not the recipe ml.crossval measures
    assert result["promoted"] and result["gate"]["passed"] and result["gate"]["holdout_n"] > 0, result
    with app.app_context():
        rows = {r.version: r for r in db.session.scalars(select(ModelVersion))}
        assert len(rows) == 2  # the starter, registered first, and the new version
        starter = next(r for r in rows.values() if r.version.startswith("starter-"))
        new = rows[result["version"]]
        assert (starter.status, new.status) == ("retired", "promoted")
        assert new.metrics["heads"]["category"]["trained"] is True
        assert new.metrics["heads"]["style"]["trained"] is False  # the catalogue has no style labels
        assert new.data_fingerprint and new.label_set["category"]
        assert 0 < new.metrics["heads"]["category"]["temperature"]
        tuned = new.metrics["finetune"]
        assert tuned["epochs_run"] >= 1 and tuned["val_before"]["accuracy"] is not None, tuned
        bundle = registry.fetch(get_store(), new, app.config["MODEL_CACHE_DIR"])
        # The tuned backbone travels in the bundle only when it did better on the validation split.
        assert (bundle / "image" / "backbone.tflite").exists() == tuned["kept"]
    assert {f"media/models/{v}.tar.gz" for v in rows} <= set(bucket_keys(service_env, "media/models/"))

    assert "rolled back to starter-" in cli(app, "ml", "rollback")
    with app.app_context():
        assert db.session.scalar(select(ModelVersion.status).where(
            ModelVersion.version == result["version"])) == "rolled_back"
    cli(app, "ml", "promote", result["version"])
    out = tmp_path / "eval"
    report = last_json(cli(app, "ml", "evaluate", "--labels", str(labels), "--images-root", str(root),
                           "--out", str(out), "--json"))
    assert report["model_version"] == result["version"]
    assert report["missing_images"] == 1 and report["unreadable_images"] == 1
    cat = report["attributes"]["category"]
    assert cat["n"] == N_ITEMS + 1 and 0 <= cat["accuracy"] <= 1 and 0 <= cat["ece"] <= 1  # "Rings", "Tiaras" read
    assert {"coverage", "risk"} <= set(cat)
    assert sum(map(sum, cat["confusion"]["matrix"])) == cat["n"]
    assert Image.open(cat["confusion_png"]).size[0] > 100
    assert "metal" in report["attributes"] and "style" not in report["attributes"]
    assert report["descriptions"]["n"] == N_ITEMS and 0 <= report["descriptions"]["rouge_l"] <= 1
    text = cli(app, "ml", "evaluate", "--labels", str(labels), "--images-root", str(root), "--out", str(out))
    assert "macro" not in text and "category" in text and "BLEU-4" in text


def test_gate_keeps_a_worse_version_out_and_feedback_is_used_next_time(ml_app, labelled_folder, monkeypatch):
    app = ml_app
    labels, root = labelled_folder
    cli(app, "catalog", "import-folder", "--labels", str(labels), "--images-root", str(root))
    register(app.test_client(), "artisan@example.com")
    photo = Image.new("RGB", (96, 96), (230, 220, 200))
    buf = io.BytesIO()
    photo.save(buf, "JPEG")
    with app.app_context():
        approved = ready_product("artisan@example.com", status="approved")
        reported = ready_product("artisan@example.com", status="approved")
        for pid in (approved, reported):
            p = db.session.get(Product, pid)
            p.edited_fields = ["attributes.metal", "description"]
            p.description = "A gold ring I made by hand."
            get_store().write(p.photos[0].object_key, buf.getvalue() + str(pid).encode(), "image/jpeg")
        # Confirmed by an admin: only then does a report keep the listing out of training.
        db.session.add(InaccuracyReport(product_id=reported, message="It is silver, not gold.",
                                        confirmed_at=utcnow()))
        db.session.commit()
    # A gate no candidate can pass: the new version is registered but not promoted.
    monkeypatch.setitem(app.config, "PROMOTION_TOLERANCE", -1.0)
    result = last_json(cli(app, *TRAIN_ARGS))
    assert not result["promoted"] and not result["gate"]["passed"]
    assert result["feedback"] == {"added": 2, "held back (open customer report)": 1}
    with app.app_context():
        assert db.session.scalar(select(ModelVersion.status).where(
            ModelVersion.version == result["version"])) == "candidate"
        promoted = db.session.scalar(select(ModelVersion.version).where(ModelVersion.status == "promoted"))
        assert promoted.startswith("starter-")
        items = {i.provenance["product_id"]: i for i in db.session.scalars(
            select(TrainingItem).where(TrainingItem.source == "feedback"))}
        good, held = items[approved], items[reported]
        held_id = held.id
        assert good.active and not held.active
        assert good.metal == "gold"  # edited by a person, so trusted despite 0.41 confidence
        assert good.colour is None   # 0.55 confidence, never checked: not used as a label
        assert good.category == RESULT["attributes"]["category"]["value"]
        assert good.provenance["edited_fields"] == ["attributes.metal", "description"]
        assert good.description == "A gold ring I made by hand."
        assert held.provenance["open_reports"] == 1
        n_folder = db.session.query(TrainingItem).filter_by(source="folder").count()
    # Every active item is either trained on or held out: the folder's photos plus the approved listing.
    assert result["n_train"] + result["gate"]["holdout_n"] == n_folder + 1
    # The report is handled: the next run learns from that listing too.
    with app.app_context():
        report = db.session.scalar(select(InaccuracyReport))
        report.resolved_at = report.created_at
        db.session.commit()
        from workers.retrain import retrain_models
        monkeypatch.setitem(app.config, "RETRAIN_MIN_NEW_APPROVED", 10)
        assert retrain_models.run()["skipped"]  # only two approvals, fewer than ten
        from workers.training.feedback import sync_feedback
        sync_feedback(get_store(), app.config)
        assert db.session.get(TrainingItem, held_id).active


def test_worker_process_loads_the_promoted_version_without_a_restart(ml_app, labelled_folder, monkeypatch):
    app = ml_app
    monkeypatch.setitem(app.config, "MODEL_CHECK_SECONDS", 0)
    from workers import model_loader

    monkeypatch.setattr(model_loader, "_registry", {"path": None, "checked": float("-inf")})

    with app.app_context():
        assert model_loader.get_generator().model_version.startswith("starter-tiny")  # nothing registered: MODEL_DIR
        registry.ensure_bootstrap(get_store(), app.config)
        starter = registry.promoted_record().version
        # A second version: the starter bundle under a new name, registered and promoted.
        import shutil
        from pathlib import Path
        copy = Path(app.config["MODEL_CACHE_DIR"]).parent / "copy"
        shutil.copytree(app.config["MODEL_DIR"], copy)
        meta = json.loads((copy / "meta.json").read_text())
        meta["version"] = "test-v2"
        (copy / "meta.json").write_text(json.dumps(meta))
        registry.register(get_store(), app.config, copy, status="promoted")
        assert model_loader.get_generator().model_version == "test-v2"
        registry.rollback()
        assert model_loader.get_generator().model_version == starter


def test_ops_page_and_gauge_name_the_version_workers_serve(ml_app, tmp_path):
    """After `flask ml promote`, /admin/ops and jai_model_promoted_info name the promoted version,
    not the starter in MODEL_DIR; after `flask ml rollback` they name the starter again."""
    import shutil

    from tests.ops_support import scrape

    app = ml_app
    starter = json.loads((Path(app.config["MODEL_DIR"]) / "meta.json").read_text())["version"]
    copy = tmp_path / "v2"
    shutil.copytree(app.config["MODEL_DIR"], copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["version"] = f"ops-v2-{uuid.uuid4().hex[:6]}"
    meta.setdefault("metrics", {})["holdout"] = {"category": {"accuracy": 0.75}}
    (copy / "meta.json").write_text(json.dumps(meta))
    with app.app_context():
        registry.ensure_bootstrap(get_store(), app.config)
        registry.register(get_store(), app.config, copy)
    assert f"{meta['version']} promoted" in cli(app, "ml", "promote", meta["version"])
    admin = app.test_client()
    register(admin, "admin@example.com")

    def shown():
        page = admin.get("/admin/ops").get_data(as_text=True)
        version = re.search(r'id="model-version">([^<]*)<', page).group(1)
        gauges = scrape(admin.get("/metrics").get_data(as_text=True))
        named = {dict(labels)["version"] for name, labels in gauges if name == "jai_model_promoted_info"}
        return version, named, gauges

    version, named, gauges = shown()
    assert (version, named) == (meta["version"], {meta["version"]})
    assert ("jai_model_promoted_metric", frozenset(
        {"version": meta["version"], "metric": "holdout.category.accuracy"}.items())) in gauges
    assert f"rolled back to {starter}" in cli(app, "ml", "rollback")
    version, named, _ = shown()
    assert (version, named) == (starter, {starter})


def test_worker_stores_a_heatmap_the_admin_sees(app, worker, service_env):
    """A real upload through the real worker; the heatmap task follows the listing job."""
    from tests.support import drawn_ring_jpeg, upload_photo, wait_for_job

    client = app.test_client()
    token = register(client, "maker@example.com")
    body, stored = upload_photo(client, token, drawn_ring_jpeg())
    assert stored.status_code in (201, 204)
    confirm = client.post(body["confirm_url"], headers={"X-CSRFToken": token})
    assert confirm.status_code == 202, confirm.get_data(as_text=True)
    job = wait_for_job(client, body["status_url"])
    assert job["state"] == "ready", job
    deadline = time.time() + 90
    with app.app_context():
        photo_id = db.session.scalar(select(Photo.id).join(Product).where(
            Product.owner_id == user_id("maker@example.com")))
        while time.time() < deadline:
            db.session.remove()
            heat = db.session.get(PhotoHeatmap, photo_id)
            if heat:
                break
            time.sleep(0.5)
        assert heat is not None, "no heatmap stored"
        png = get_store().read(heat.object_key)
        assert Image.open(io.BytesIO(png)).format == "PNG"
        assert heat.object_key == f"media/heatmaps/{photo_id}.png"
        product_id = db.session.scalar(select(Photo.product_id).where(Photo.id == photo_id))
    admin = app.test_client()
    register(admin, "admin@example.com")
    page = admin.get(f"/admin/products/{product_id}").get_data(as_text=True)
    assert "Where the model looked for the category" in page and "heatmaps/" in page


def test_retraining_is_scheduled_only_when_enabled(app):
    from workers.schedule import beat_schedule

    assert "retrain-models" not in beat_schedule(app.config)
    entry = beat_schedule({**app.config, "RETRAIN_ENABLED": True, "RETRAIN_SCHEDULE": "30 2 * * 1"})["retrain-models"]
    assert entry["task"] == "workers.retrain.retrain_models"
    assert entry["schedule"].hour == {2} and entry["schedule"].minute == {30} and entry["schedule"].day_of_week == {1}
    assert entry["options"]["soft_time_limit"] == app.config["RETRAIN_TIME_LIMIT"]


def test_running_worker_switches_to_a_newly_promoted_version(app, worker, model_dir, tmp_path):
    """`flask ml promote` reaches the real worker without a restart (it checks every MODEL_CHECK_SECONDS)."""
    import shutil

    from tests.support import drawn_ring_jpeg, upload_photo, wait_for_job
    from webapp.models import GeneratedListing, Job

    copy = tmp_path / "v2"
    shutil.copytree(model_dir, copy)
    meta = json.loads((copy / "meta.json").read_text())
    meta["version"] = f"hot-swap-{uuid.uuid4().hex[:6]}"
    (copy / "meta.json").write_text(json.dumps(meta))
    from workers.training import registry

    with app.app_context():
        registry.register(get_store(), {**app.config, "MODEL_DIR": str(model_dir)}, copy, status="promoted")
    client = app.test_client()
    token = register(client, "swap@example.com")
    seen = []
    deadline = time.time() + 3 * app.config["MODEL_CHECK_SECONDS"] + 30
    while time.time() < deadline:
        body, _ = upload_photo(client, token, drawn_ring_jpeg())
        assert client.post(body["confirm_url"], headers={"X-CSRFToken": token}).status_code == 202
        assert wait_for_job(client, body["status_url"])["state"] == "ready"
        with app.app_context():
            job_id = db.session.scalar(select(Job.id).order_by(Job.created_at.desc()).limit(1))
            seen.append(db.session.scalar(select(GeneratedListing.model_version)
                                          .where(GeneratedListing.job_id == job_id)))
        if seen[-1] == meta["version"]:
            break
        time.sleep(3)
    assert seen[-1] == meta["version"], seen
