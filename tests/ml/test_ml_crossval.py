"""ml.crossval: pieces stay on one side of the split, duplicates count once, probe and shipped side by side."""
import csv

from ml import crossval
from ml.starter_catalog import generate_catalog


def drawn_photos(folder, n, seed, metal_labelled=lambda i: True) -> list[list[str]]:
    """``n`` drawn pieces saved in ``folder``; their labels.csv rows (metal left empty where not labelled)."""
    rows = []
    for i, item in enumerate(generate_catalog(n, seed=seed, image_size=64)):
        item.image.save(folder / f"piece{i}.jpg", "JPEG", quality=90)
        rows.append([f"piece{i}.jpg", item.labels["category"], item.labels["metal"] if metal_labelled(i) else ""])
    return rows


def write_labels(folder, rows) -> None:
    with open(folder / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "category", "metal"], *rows])


def test_crossval_reports_the_probe_beside_the_shipped_recipe(tmp_path, weights_cache, monkeypatch):
    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    rows = drawn_photos(tmp_path, 30, seed=3)
    (tmp_path / "piece0_1.jpg").write_bytes((tmp_path / "piece1.jpg").read_bytes())  # the same photo twice
    rows.append(["piece0_1.jpg", rows[1][1], rows[1][2]])
    write_labels(tmp_path, rows)

    train, test = crossval.split(crossval.read_rows(tmp_path), seed=0)
    names = {r["path"].rsplit("/", 1)[1] for r in train}
    assert ("piece0.jpg" in names) == ("piece0_1.jpg" in names)  # one piece, one side

    result = crossval.run(tmp_path, seeds=[0, 1], feature_cache=tmp_path / "cache")
    assert result["n_photos"] == 30  # the duplicate photo counted once
    for attr in ("category", "metal"):
        probe, shipped = result["linear_probe"][attr], result["shipped"][attr]
        assert [s["seed"] for s in probe["per_split"]] == [s["seed"] for s in shipped["per_split"]] == [0, 1]
        for p, s in zip(probe["per_split"], shipped["per_split"], strict=False):
            assert p["n_test"] == s["n_test"] and p["n_train"] == s["n_train"]  # same photos
            assert s["oof_accuracy"] is not None  # calibrated on out-of-fold scores
            assert 0 <= s["accuracy"] <= 1 and 0 <= s["macro_f1"] <= 1 and 0 <= s["coverage"] <= 1
        assert "mean_accuracy" in probe and "spread_accuracy" in shipped
        assert len(shipped["gain_over_probe"]["per_split"]) == 2
    assert any((tmp_path / "cache").rglob("*.npy"))  # embeddings cached for the next run


def test_crossval_places_each_training_crop_with_a_locator_that_never_saw_it(tmp_path, weights_cache, monkeypatch):
    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    rows = drawn_photos(tmp_path, 30, seed=3)
    write_labels(tmp_path, rows)

    result = crossval.run(tmp_path, seeds=[0], feature_cache=tmp_path / "cache", extras=("zoom",))
    assert result["shipped_recipe"]["extras"] == ["zoom"]
    assert result["shipped_recipe"]["test_views"] == ["plain"]  # the crop's pass replaces the mirror's
    for attr in ("category", "metal"):
        split = result["shipped"][attr]["per_split"][0]
        assert 0 <= split["accuracy"] <= 1 and split["oof_accuracy"] is not None
    # One locator per cross-fitting fold for the training photos, one for the scored photos (every
    # photo here has both labels, so category and metal split alike and share them).
    located = [d for d in (tmp_path / "cache").iterdir() if "-loc" in d.name]
    assert len(located) == crossval.FOLDS + 1
    test_photos = {p.name.split("-")[0] for d in located for p in d.glob("*-plain.npy")
                   if not any(d.glob(p.name.replace("-plain", "-flip")))}
    assert len(test_photos) >= result["shipped"]["category"]["per_split"][0]["n_test"]  # scored: the plain view only


def test_a_piece_locator_places_every_crop_on_every_split(tmp_path, weights_cache, monkeypatch):
    import numpy as np

    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    rows = drawn_photos(tmp_path, 24, seed=4)
    write_labels(tmp_path, rows)

    rng = np.random.default_rng(0)
    locator = {"w": rng.normal(size=(1280, 1)).astype(np.float32), "b": np.zeros(1, np.float32)}
    result = crossval.run(tmp_path, seeds=[0, 1], feature_cache=tmp_path / "cache", extras=("zoom",),
                          piece_locator=locator)
    assert result["locator"] == "piece"
    assert [s["seed"] for s in result["shipped"]["category"]["per_split"]] == [0, 1]
    # No category head was fitted to place a crop: one locator, so one cache of crops for both splits.
    assert len([d for d in (tmp_path / "cache").iterdir() if "-loc" in d.name]) == 1


def test_the_fine_tuned_recipe_is_measured_beside_the_shipped_one_on_the_same_splits(tmp_path, weights_cache,
                                                                                      monkeypatch):
    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    rows = drawn_photos(tmp_path, 30, seed=3, metal_labelled=lambda i: i % 3)
    write_labels(tmp_path, rows)

    result = crossval.run(tmp_path, seeds=[0], feature_cache=tmp_path / "cache", finetune=True)
    assert result["finetuned_recipe"]["finetune"] and "finetune" not in result["shipped_recipe"]
    for attr in ("category", "metal"):
        shipped, tuned = result["shipped"][attr]["per_split"][0], result["finetuned"][attr]["per_split"][0]
        assert (tuned["n_train"], tuned["n_test"]) == (shipped["n_train"], shipped["n_test"])
        assert len(tuned["tuned_kept"]) == 3  # two cross-fitting fine-tunes, then the one that is scored
        assert tuned["oof_accuracy"] is not None and 0 <= tuned["coverage"] <= 1
        gain = result["finetuned"][attr]["gain_over_shipped"]["per_split"][0]
        assert abs(gain - (tuned["accuracy"] - shipped["accuracy"])) < 1e-3
    assert result["shipped"]["metal"]["per_split"][0]["n_train"] < result["shipped"]["category"]["per_split"][0][
        "n_train"]  # metal is scored on its labelled photos only
    assert any((tmp_path / "cache").glob("trunk14-*/*-flip.npy"))  # the mirror image's trunk maps are cached
