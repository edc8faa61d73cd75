"""ml/features.py: the optional feature parts (GeM pooling, the colour descriptor) and the heads' input."""
import numpy as np
import pytest
from PIL import Image

from ml import features
from ml.features import colour_descriptor, feature_dims, gem, head_input, select_parts


def test_gem_is_the_mean_at_p1_and_leans_to_the_strongest_locations():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0, 1, (3, 7, 7, 5)).astype(np.float32)
    np.testing.assert_allclose(gem(maps, p=1.0), maps.mean((1, 2)), rtol=1e-5)
    spot = np.full((1, 7, 7, 1), 0.1, np.float32)
    spot[0, 3, 3, 0] = 6.0  # one strong location, as a small piece on a large photo
    assert gem(spot, p=3.0)[0, 0] > 3 * spot.mean()
    assert gem(spot, p=3.0)[0, 0] < spot.max()


def _photo(background, highlight):
    """A photo of ``background`` with a patch of ``highlight`` (8 % of it), brighter than the rest."""
    im = Image.new("RGB", (200, 160), background)
    im.paste(Image.new("RGB", (50, 50), highlight), (60, 40))
    return im


def test_colour_descriptor_is_unit_length_and_tells_gold_from_silver_highlights():
    skin = (200, 150, 120)
    gold, silver = _photo(skin, (255, 215, 90)), _photo(skin, (240, 240, 240))
    a, b = colour_descriptor(gold), colour_descriptor(silver)
    assert a.shape == b.shape == (features.EXTRAS["colour"],)
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)
    half = len(a) // 2
    # Nearly the same pixels overall; the brightest pixels (the highlight) differ.
    assert np.dot(a[:half], b[:half]) / 0.5 > 0.9
    assert np.dot(a[half:], b[half:]) / 0.5 < 0.2
    assert np.allclose(colour_descriptor(gold.transpose(Image.FLIP_LEFT_RIGHT)), a)  # where it is does not matter


def test_head_input_weighs_every_part_the_same_and_is_the_unit_embedding_without_extras():
    rng = np.random.default_rng(1)
    emb = rng.uniform(0, 6, (4, 1280)).astype(np.float32)
    np.testing.assert_allclose(head_input(emb), features.unit(emb), rtol=1e-6)
    col = rng.uniform(0, 1, (4, features.EXTRAS["colour"])).astype(np.float32)
    x = head_input(np.concatenate([emb, col], 1), ("colour",))
    np.testing.assert_allclose(np.linalg.norm(x[:, :1280], axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(x[:, 1280:], axis=1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError):
        head_input(emb, ("colour",))  # too narrow for the parts it is said to carry
    with pytest.raises(ValueError):
        feature_dims(("texture",))


def test_select_parts_keeps_the_embedding_and_the_wanted_extras_in_order():
    dims = feature_dims(("gem", "colour"))
    assert dims == (1280, 1280, features.EXTRAS["colour"])
    x = np.concatenate([np.full((2, d), i, np.float32) for i, d in enumerate(dims)], 1)
    only_colour = select_parts(x, ("gem", "colour"), ("colour",))
    assert only_colour.shape == (2, 1280 + dims[2])
    assert set(only_colour[0, :1280]) == {0} and set(only_colour[0, 1280:]) == {2}
    assert select_parts(x, ("gem", "colour"), ()).shape == (2, 1280)
    with pytest.raises(ValueError):
        select_parts(x[:, :1280], (), ("gem",))


def test_a_model_with_extras_embeds_them_after_the_same_embedding_and_keeps_them_in_its_bundle(
        tmp_path, weights_cache):
    from ml.image_model import ImageAttributeModel
    from ml.starter_catalog import generate_catalog
    from ml.taxonomy import DEFAULT

    images = [it.image for it in generate_catalog(5, seed=4, image_size=96)]
    plain = ImageAttributeModel(64, weights_cache)
    both = ImageAttributeModel(64, weights_cache, extras=("colour", "gem"), taxonomy=DEFAULT.subset(("category",)))
    assert both.extras == ("gem", "colour")  # the order of ml.features.EXTRAS, whatever was asked
    got = both.embed(images)
    assert got.shape == (5, 1280 + 1280 + features.EXTRAS["colour"]) and got.shape[1] == both.feature_width
    # The feature-map backbone's average is the pooled backbone's embedding.
    np.testing.assert_allclose(both.embedding(got), plain.embed(images), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(got[:, -features.EXTRAS["colour"]:], [colour_descriptor(im) for im in images],
                               atol=1e-6)
    both.fit(got, [{"category": "ring"}, {"category": "earrings"}] * 2 + [{"category": "ring"}], epochs=1)
    both.save(tmp_path / "image")
    loaded = ImageAttributeModel.load(tmp_path / "image", weights_cache)
    assert loaded.extras == ("gem", "colour")
    np.testing.assert_allclose(loaded.probabilities(got)["category"], both.probabilities(got)["category"],
                               rtol=1e-4, atol=1e-5)
    # Grad-CAM feeds the heads the same parts, from the Keras feature map.
    from ml.gradcam import category_heatmap

    cam, value = category_heatmap(loaded, images[0])
    assert cam.shape == (2, 2) and 0 <= cam.min() and cam.max() <= 1
    assert value == loaded.predict_features(loaded.embed(images[:1], views=("plain",)))[0]["category"]["value"]


def test_the_describer_reads_the_embedding_alone_when_features_carry_extra_parts(generator):
    from ml.starter_catalog import generate_catalog

    images = [it.image for it in generate_catalog(2, seed=6, image_size=96)]
    emb = generator.image_model.embed(images)
    wide = np.concatenate([emb, np.full((2, features.EXTRAS["colour"]), 50.0, np.float32)], 1)
    attrs = [{a: p[a]["value"] for a in p} for p in generator.image_model.predict_features(emb)]
    text = generator.text_model
    assert text.generate(wide, attrs, seed=3) == text.generate(emb, attrs, seed=3)
