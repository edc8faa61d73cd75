"""The converted backbone must reproduce the reference PyTorch logits.

fixtures/efficientnet_lite0_ref_logits.npy was made once, outside the project, with
torch 2.13.0 (CPU) and the PyPI package efficientnet-lite-pytorch 0.1.0:
``EfficientNet.from_pretrained('efficientnet-lite0', weights_path=<the shipped .pth>)``
in eval mode, fed the three inputs built by ``_inputs()`` below (NCHW, already in [-1, 1]).
"""
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "efficientnet_lite0_ref_logits.npy"


def _inputs():
    rng = np.random.default_rng(1234)
    a = rng.uniform(-1, 1, (224, 224, 3)).astype(np.float32)
    y, x = np.mgrid[0:224, 0:224].astype(np.float32) / 223.0
    b = np.stack([np.sin(6 * x), np.cos(4 * y), np.sin(3 * (x + y))], -1).astype(np.float32)
    c = np.stack([x * 2 - 1, y * 2 - 1, (x * y) * 2 - 1], -1).astype(np.float32)
    return np.stack([a, b, c])


def test_checkpoint_reads_without_torch():
    from ml._torch_pickle import load_legacy_state_dict
    from ml.efficientnet_lite import checkpoint_path

    sd = load_legacy_state_dict(checkpoint_path())
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert sum(v.size for k, v in sd.items() if "num_batches" not in k) == 4_694_024


def test_converted_logits_match_reference(weights_cache):
    from ml.efficientnet_lite import build_efficientnet_lite0, load_imagenet_weights

    ref = np.load(FIXTURE)
    model = load_imagenet_weights(build_efficientnet_lite0(include_preprocessing=False), weights_cache)
    assert model.count_params() == 4_694_024
    logits = model.predict(_inputs(), verbose=0)
    np.testing.assert_allclose(logits, ref, atol=2e-3, rtol=0)
    assert list(logits.argmax(1)) == list(ref.argmax(1))

    cached = list(Path(weights_cache).glob("*top.weights.h5"))
    assert cached, "conversion should be cached as .weights.h5"
    again = load_imagenet_weights(build_efficientnet_lite0(include_preprocessing=False), weights_cache)
    np.testing.assert_allclose(again.predict(_inputs()[:1], verbose=0), ref[:1], atol=2e-3, rtol=0)


def test_preprocessing_maps_pixels_to_unit_range(weights_cache):
    from ml.efficientnet_lite import build_efficientnet_lite0, load_imagenet_weights

    model = load_imagenet_weights(build_efficientnet_lite0(), weights_cache)
    pixels = (_inputs()[1:2] + 1.0) * 127.5
    np.testing.assert_allclose(model.predict(pixels, verbose=0), np.load(FIXTURE)[1:2], atol=2e-3, rtol=0)
