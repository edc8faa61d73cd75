"""Renders as auxiliary training photos: weighed as set, filtered to the real labels, measured beside shipped."""
import csv
import json

import numpy as np

from ml import crossval, heads


def _blobs(rng, n, centre):
    x = rng.normal(0, 0.3, (n, 1, 4)) + centre
    return x.astype(np.float32)


def test_aux_examples_weigh_their_share_and_nothing_at_zero():
    rng = np.random.default_rng(0)
    x = np.concatenate([_blobs(rng, 20, [1, 0, 0, 0]), _blobs(rng, 20, [0, 1, 0, 0])])
    y = np.repeat([0, 1], 20)
    # Auxiliary examples that call a third region class 1: a real head has never seen it.
    aux_x, aux_y = _blobs(rng, 30, [0, 0, 1, 0]), np.ones(30, int)
    plain = heads.fit_head(x, y, 2)
    at_zero = heads.fit_head(x, y, 2, aux=(aux_x, aux_y, 0.0))
    np.testing.assert_allclose(plain[0], at_zero[0], atol=1e-6)
    probe = np.array([[0, 0, 1, 0]], np.float32)
    p_plain = heads.predict(*plain, probe)[0, 1]
    p_aux = heads.predict(*heads.fit_head(x, y, 2, aux=(aux_x, aux_y, 1.0)), probe)[0, 1]
    assert p_aux > 0.9 > p_plain + 0.2  # the renders taught what the real photos could not


def test_crossval_trains_with_renders_whose_values_the_split_has(tmp_path, weights_cache, monkeypatch):
    from ml.starter_catalog import generate_catalog

    monkeypatch.setenv("JEWELLERY_ML_CACHE", str(weights_cache))
    data, renders = tmp_path / "real", tmp_path / "renders"
    data.mkdir()
    renders.mkdir()
    rows = []
    items = generate_catalog(40, seed=3, image_size=64)
    for i, item in enumerate(items[:30]):
        item.image.save(data / f"piece{i}.jpg", "JPEG", quality=90)
        rows.append([f"piece{i}.jpg", item.labels["category"], item.labels["metal"]])
    with open(data / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "category", "metal"], *rows])
    written = []
    for i, item in enumerate(items[30:]):
        labels = dict(item.labels, category="watch") if i < 3 else item.labels  # a category the photos lack
        written.append(labels)
        item.image.save(renders / f"{i:06d}.jpg", "JPEG", quality=90)
        (renders / f"{i:06d}.json").write_text(json.dumps({"index": i, "labels": labels}))

    result = crossval.run(data, seeds=[0], feature_cache=tmp_path / "cache", aux_renders=renders, aux_weights=[0.25])
    for attr in ("category", "metal"):
        shipped, aux = result["shipped"][attr]["per_split"][0], result["renders_0.25"][attr]["per_split"][0]
        assert (aux["n_train"], aux["n_test"]) == (shipped["n_train"], shipped["n_test"])  # same photos scored
        train, _ = crossval.split([r for r in crossval.unique_rows(data) if r[attr]], 0)
        have = {r[attr] for r in train}
        expected = sum(1 for lab in written if lab[attr] in have)
        assert aux["n_renders"] == expected > 0  # only the renders whose value the split's photos have
        gain = result["renders_0.25"][attr]["gain_over_shipped"]["per_split"][0]
        assert abs(gain - (aux["accuracy"] - shipped["accuracy"])) < 1e-3
