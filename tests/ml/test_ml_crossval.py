"""ml.crossval: pieces stay on one side of the split, duplicates count once, both modes are scored."""
import csv

from ml import crossval


def test_crossval_splits_by_piece_and_scores_both_modes(tmp_path, tiny_bundle, weights_cache, monkeypatch):
    from ml.starter_catalog import generate_catalog

    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    rows = []
    for i, item in enumerate(generate_catalog(30, seed=3, image_size=64)):
        item.image.save(tmp_path / f"piece{i}.jpg", "JPEG", quality=90)
        rows.append([f"piece{i}.jpg", item.labels["category"], item.labels["metal"]])
    (tmp_path / "piece0_1.jpg").write_bytes((tmp_path / "piece1.jpg").read_bytes())  # the same photo twice
    rows.append(["piece0_1.jpg", rows[1][1], rows[1][2]])
    with open(tmp_path / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "category", "metal"], *rows])

    train, test = crossval.split(crossval.read_rows(tmp_path), seed=0)
    names = {r["path"].rsplit("/", 1)[1] for r in train}
    assert ("piece0.jpg" in names) == ("piece0_1.jpg" in names)  # one piece, one side

    results = crossval.run(tmp_path, tiny_bundle[0], seeds=[0])
    assert [r["finetune"] for r in results] == [False, True]
    heads_only, tuned = results
    assert heads_only["kept"] is False and isinstance(tuned["kept"], bool)
    n_test = heads_only["category"]["n"]
    assert heads_only["n_train"] + n_test == 30  # the duplicate photo counted once
    assert 0 <= tuned["category"]["accuracy"] <= 1 and 0 <= tuned["metal"]["macro_f1"] <= 1
