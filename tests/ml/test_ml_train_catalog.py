"""ml/train_catalog.py: a catalogue version is the recipe ml.crossval measures (ml/recipe.py), whatever its base."""
import numpy as np

from ml import recipe
from ml.features import EXTRAS, head_input
from ml.heads import predict
from ml.train_catalog import widened


def test_a_widened_base_head_ignores_the_new_parts_and_gives_the_same_probabilities():
    rng = np.random.default_rng(0)
    kernel, bias = rng.normal(0, 0.05, (1280, 4)).astype(np.float32), rng.normal(0, 1, 4).astype(np.float32)
    emb = rng.uniform(0, 6, (6, 1280)).astype(np.float32)
    colour = rng.uniform(0, 1, (6, EXTRAS["colour"])).astype(np.float32)
    w, b = widened([kernel, bias], (), ("colour",))
    assert w.shape == (1280 + EXTRAS["colour"], 4) and not w[1280:].any()
    before = predict(kernel, bias, head_input(emb))
    after = predict(w, b, head_input(np.concatenate([emb, colour], 1), ("colour",)))
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-6)
    assert widened([kernel, bias], (), ())[0] is kernel


def test_a_catalogue_version_embeds_at_the_recipe_size_not_its_base_bundles(tiny_bundle, weights_cache):
    from ml.listing import ListingGenerator
    from ml.starter_catalog import generate_catalog
    from ml.train_catalog import train_bundle

    base = ListingGenerator.load(tiny_bundle[0], cache_dir=weights_cache)
    assert base.image_model.image_size != recipe.IMAGE_SIZE  # the tiny starter embeds at 96 px
    items = generate_catalog(24, seed=5, image_size=96)
    labels = [{"category": it.labels["category"], "metal": it.labels["metal"]} for it in items]
    new = train_bundle(base, None, [it.image for it in items], [f"k{i}" for i in range(24)], labels,
                       min_labels=4, log=lambda _: None)
    model = new.image_model
    assert (model.image_size, model.arch, model.extras) == (recipe.IMAGE_SIZE, recipe.ARCH, recipe.EXTRAS)
    assert list(model.test_views) == recipe.RECIPE["test_views"]
    config = new.meta["config"]
    assert config["image_size"] == recipe.IMAGE_SIZE and config["train_views"] == recipe.RECIPE["train_views"]
    assert config["extras"] == list(recipe.EXTRAS) and config["finetune"] is False
    assert set(model.trained_heads) == {a for a, r in new.meta["metrics"]["heads"].items() if r["trained"]}
    assert new.meta["metrics"]["heads"]["category"]["trained"]
    assert new.meta["metrics"]["heads"]["category"]["calibration"]["method"] == "cross-fit"
    listing = new.generate([items[0].image])[0]  # serves, and the describer reads the embedding alone
    assert listing["attributes"]["category"]["value"] and listing["description"]
    assert len(listing["embedding"]) == model.feature_width


def test_a_head_kept_from_the_base_does_not_overrule_a_trained_one_through_a_rule():
    from ml.image_model import ImageAttributeModel
    from ml.taxonomy import DEFAULT

    tax = DEFAULT.subset(("category", "type"))
    cats, types = tax.values("category"), tax.values("type")
    probs = {"category": np.array([[0.6 if v == "bracelet" else 0.4 if v == "ring" else 0.0 for v in cats]]),
             "type": np.array([[0.95 if v == "band" else 0.05 if v == "bangle" else 0.0 for v in types]])}
    # Without trained heads (the starter) the surer "band" pulls the category to "ring".
    plain = ImageAttributeModel(64, serving="keras", taxonomy=tax)
    row = plain.predict_probabilities(probs)[0]
    assert (row["category"]["value"], row["type"]["value"]) == ("ring", "band")
    # A catalogue version's trained category head decides; the kept type head follows it.
    trained = ImageAttributeModel(64, serving="keras", taxonomy=tax, trained_heads=("category",))
    row = trained.predict_probabilities(probs)[0]
    assert (row["category"]["value"], row["type"]["value"]) == ("bracelet", "bangle")
    assert tax.compatible("category", "bracelet", "type", "bangle")
    # A value a person set still constrains both.
    row = trained.predict_probabilities(probs, [{"type": "band"}])[0]
    assert row["category"]["value"] == "ring" and "type" not in row


def test_a_zoom_recipe_ships_a_locator_fitted_on_the_category_labels_and_serves_one_view(
        tiny_bundle, weights_cache, monkeypatch):
    from ml import zoom
    from ml.features import TRAIN_VIEWS, cached_views
    from ml.image_model import ImageAttributeModel
    from ml.listing import ListingGenerator
    from ml.starter_catalog import generate_catalog
    from ml.train_catalog import train_bundle

    monkeypatch.setattr(recipe, "EXTRAS", ("zoom",))  # the option crossval measures as --extras zoom
    monkeypatch.setattr(recipe, "TEST_VIEWS", recipe.test_views(("zoom",)))
    base = ListingGenerator.load(tiny_bundle[0], cache_dir=weights_cache)
    items = generate_catalog(24, seed=5, image_size=96)
    images, keys = [it.image for it in items], [f"z{i}" for i in range(24)]
    labels = [{"category": it.labels["category"]} for it in items]
    new = train_bundle(base, None, images, keys, labels, min_labels=4, log=lambda _: None)
    model = new.image_model
    assert model.extras == ("zoom",) and model.test_views == ("plain",)  # the crop's pass replaces the mirror's
    assert new.meta["config"]["test_views"] == ["plain"]
    # The locator is the shipped head fitted on the global embedding's training views, as crossval fits it.
    values = model.taxonomy.values("category")
    views = cached_views(ImageAttributeModel(recipe.IMAGE_SIZE, weights_cache), images, keys, TRAIN_VIEWS)
    expected = zoom.fit_locator(views[..., :1280], np.array([values.index(lab["category"]) for lab in labels]),
                                len(values))
    np.testing.assert_allclose(model.locator["w"], expected["w"], rtol=1e-4, atol=1e-6)
    listing = new.generate([images[0]])[0]
    assert listing["attributes"]["category"]["value"] and len(listing["embedding"]) == model.feature_width
