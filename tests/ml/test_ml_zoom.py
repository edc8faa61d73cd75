"""ml/zoom.py: the crop round the piece, located on the feature map and cut from the full photo."""
import numpy as np
from PIL import Image

from ml import zoom


def _blob(h, w, at, size=1.0):
    y, x = np.mgrid[:h, :w]
    return size * np.exp(-((y - at[0]) ** 2 + (x - at[1]) ** 2) / 0.8)


def test_the_box_holds_the_peaks_region_and_leaves_a_weaker_region_apart():
    cam = _blob(7, 7, (2, 5)) + _blob(7, 7, (5, 1), 0.8)  # two pieces: the stronger upper right
    x0, y0, x1, y1 = zoom.peak_box(cam)
    assert x0 < 5.5 / 7 < x1 and y0 < 2.5 / 7 < y1  # the peak's cell is inside
    assert x0 > 2 / 7 and y1 < 5 / 7  # the weaker lower-left region is not
    assert zoom.peak_box(-np.ones((7, 7))) == (0.0, 0.0, 1.0, 1.0)  # nothing fires: the whole photo
    assert zoom.peak_box(np.ones((7, 7))) == (0.0, 0.0, 1.0, 1.0)  # everything fires alike: the whole photo


def test_the_crop_maps_the_padded_square_back_to_the_photo_with_a_margin_and_stays_inside():
    # A 400 x 800 portrait sits in the middle of an 800 x 800 square: x shares 0.25-0.75 are the photo.
    left, top, right, bottom = zoom.crop_box((0.4, 0.4, 0.6, 0.6), 400, 800, margin=0.25, min_side=0.0)
    assert (left, top, right, bottom) == (100, 300, 300, 500)  # 160 px box + 25 % = 200 px, same centre
    # The smallest crop is a share of the longer side, and a box at the edge is shifted inside.
    left, top, right, bottom = zoom.crop_box((0.25, 0.0, 0.3, 0.05), 400, 800, margin=0.25, min_side=0.5)
    assert (left, top, right, bottom) == (0, 0, 400, 400)
    # A box larger than the photo's width is cut to the width, never beyond it.
    assert zoom.crop_box((0.0, 0.0, 1.0, 1.0), 400, 800) == (0, 0, 400, 800)


def test_the_locator_reads_the_map_of_the_value_it_predicts():
    # Channel 0 is "ring" evidence in the upper left, channel 1 "earrings" evidence in the lower right.
    maps = np.zeros((2, 7, 7, 2), np.float32)
    maps[0, :, :, 0] = _blob(7, 7, (1, 1), 3.0)
    maps[0, :, :, 1] = _blob(7, 7, (5, 5), 1.0)
    maps[1, :, :, 0] = _blob(7, 7, (1, 1), 1.0)
    maps[1, :, :, 1] = _blob(7, 7, (5, 5), 3.0)
    locator = {"w": np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32), "b": np.zeros(2, np.float32)}
    cams = zoom.activation_map(maps, locator)
    assert np.unravel_index(cams[0].argmax(), (7, 7)) == (1, 1)  # predicted ring: the ring's place
    assert np.unravel_index(cams[1].argmax(), (7, 7)) == (5, 5)
    # Without a locator, the channel sum: the strongest evidence of either kind.
    assert np.unravel_index(zoom.activation_map(maps)[0].argmax(), (7, 7)) == (1, 1)
    photos = [Image.new("RGB", (700, 700), "white")] * 2
    crops = zoom.zoom_crops(photos, maps, locator)
    assert all(c.width == c.height and 350 <= c.width < 700 for c in crops)  # at most 2x closer, square


def test_a_zoom_model_embeds_the_crop_and_keeps_its_locator_in_the_bundle(tmp_path, weights_cache):
    from ml.image_model import ImageAttributeModel
    from ml.starter_catalog import generate_catalog
    from ml.taxonomy import DEFAULT

    images = [it.image for it in generate_catalog(4, seed=8, image_size=96)]
    rng = np.random.default_rng(0)
    locator = {"w": rng.normal(0, 0.1, (1280, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
    model = ImageAttributeModel(64, weights_cache, extras=("zoom",), locator=locator,
                                taxonomy=DEFAULT.subset(("category",)))
    plain = ImageAttributeModel(64, weights_cache)
    got = model.embed(images)
    assert got.shape == (4, 2 * 1280)
    crops = zoom.zoom_crops(images, model._run(images), locator)
    np.testing.assert_allclose(got[:, 1280:], plain.embed(crops), rtol=1e-3, atol=1e-3)  # the crop's embedding
    np.testing.assert_allclose(got[:, :1280], plain.embed(images), rtol=1e-3, atol=1e-3)  # then the photo's
    model.fit(got, [{"category": "ring"}, {"category": "earrings"}] * 2, epochs=1)
    model.save(tmp_path / "image")
    loaded = ImageAttributeModel.load(tmp_path / "image", weights_cache)
    np.testing.assert_array_equal(loaded.locator["w"], locator["w"])
    np.testing.assert_allclose(loaded.embed(images), got, rtol=1e-5, atol=1e-5)  # serving crops the same place
    assert ImageAttributeModel(64, weights_cache, extras=("zoom",)).backbone_name != model.backbone_name
    # Grad-CAM feeds the heads the same parts: the crop's embedding as a constant beside the map's mean.
    from ml.gradcam import category_heatmap

    cam, value = category_heatmap(loaded, images[0])
    assert 0 <= cam.min() and cam.max() <= 1
    assert value == loaded.predict_features(got[:1])[0]["category"]["value"]
