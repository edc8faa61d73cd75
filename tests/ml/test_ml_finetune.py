"""Fine-tuning the backbone's top blocks: the split is exact, training learns, and a tuned
bundle serves the tuned backbone through TFLite after a save and load."""
import json

import numpy as np
import pytest

from ml import vocab

SIZE = 96


@pytest.fixture(scope="module")
def drawings():
    from ml.starter_catalog import generate_catalog

    return generate_catalog(24, seed=5, image_size=64)


@pytest.fixture
def fresh_model(weights_cache, generator):
    """An ImageNet image model at the tiny bundle's size, with freshly initialised heads."""
    from ml.image_model import ImageAttributeModel, _build_heads
    from ml.taxonomy import DEFAULT

    taxonomy = DEFAULT.subset(vocab.DESCRIBER_VALUES)
    model = ImageAttributeModel(generator.image_model.image_size, weights_cache, taxonomy=taxonomy)
    model.heads = _build_heads(taxonomy)
    return model


def test_trunk_and_top_reproduce_the_whole_backbone(fresh_model, drawings):
    from ml.finetune import trunk_runner
    from ml.image_model import to_square

    batch = np.stack([to_square(it.image, fresh_model.image_size) for it in drawings[:6]])
    whole = fresh_model.embed([it.image for it in drawings[:6]])
    split = fresh_model.embed_trunk(trunk_runner(fresh_model)(batch))
    np.testing.assert_allclose(split, whole, atol=1e-4)


def test_fine_tuning_lowers_the_loss_and_the_tuned_backbone_is_what_serves(fresh_model, drawings, tmp_path,
                                                                          weights_cache):
    from ml.finetune import fine_tune
    from ml.image_model import ImageAttributeModel
    from ml.taxonomy import DEFAULT
    from ml.train_catalog import cached_trunk_features, embed_views

    imagenet_embedding = fresh_model.embed([drawings[0].image])
    trunk = cached_trunk_features(fresh_model, [it.image for it in drawings], [None] * len(drawings), 2, 0)
    anchor = embed_views(fresh_model, trunk)
    labels = [it.labels for it in drawings]
    rows = np.arange(len(drawings))
    # Validating on the training photos: the untrained heads start poor, so the loss must fall.
    report = fine_tune(fresh_model, trunk, anchor, labels, {"category": 1.0, "metal": 1.0}, rows, rows, seed=0,
                       log=lambda _: None)
    assert report["kept"], report
    assert report["val_after"]["loss"] < report["val_before"]["loss"]
    assert report["epochs_run"] >= 1 and set(fresh_model.tuned_top) >= {"conv_head", "blocks_15_project_conv"}
    assert "blocks_13_project_conv" not in fresh_model.tuned_top  # the trunk stays frozen

    tuned_serving = fresh_model.embed([drawings[0].image])      # TFLite, converted from the tuned weights
    fresh_model.serving, fast = "keras", fresh_model._fast
    fresh_model._fast = None
    tuned_keras = fresh_model.embed([drawings[0].image])
    fresh_model.serving, fresh_model._fast = "tflite", fast
    np.testing.assert_allclose(tuned_serving, tuned_keras, atol=1e-4)
    assert np.abs(tuned_serving - imagenet_embedding).max() > 1e-3  # the top really changed

    fresh_model.save(tmp_path / "image")
    config = json.loads((tmp_path / "image" / "image_model.json").read_text())
    assert config["tuned_top"]["first_block"] == 14
    assert (tmp_path / "image" / "backbone.tflite").exists()
    loaded = ImageAttributeModel.load(tmp_path / "image", weights_cache)
    np.testing.assert_allclose(loaded.embed([drawings[0].image]), tuned_serving, atol=1e-5)
    assert loaded.predict([drawings[0].image])[0]["category"]["value"] in DEFAULT.values("category")
    keras_loaded = ImageAttributeModel.load(tmp_path / "image", weights_cache, serving="keras")
    np.testing.assert_allclose(keras_loaded.embed([drawings[0].image]), tuned_keras, atol=1e-4)


def test_fine_tuning_needs_a_validation_split(fresh_model, drawings):
    from ml.finetune import fine_tune

    trunk = np.zeros((4, 1, 3, 3, 192), np.float32)
    report = fine_tune(fresh_model, trunk, np.zeros((4, 1, 1280), np.float32), [it.labels for it in drawings[:4]],
                       {"category": 1.0}, np.arange(3), np.arange(3, 4))
    assert not report["kept"] and "validation photos" in report["reason"]
    assert fresh_model.tuned_top is None
