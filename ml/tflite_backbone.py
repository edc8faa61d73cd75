"""The serving path for the image backbone: EfficientNet-Lite0 as a TFLite model run by XNNPACK.

Calling the Keras model pays TensorFlow's per-op dispatch for some 150 small ops per
batch; the TFLite interpreter with the XNNPACK delegate runs the same float32 graph with
fused, packed kernels, about 7x faster per image on two CPU cores (docs/performance.md),
and its outputs match the Keras model's to about 1e-5. Converting takes ~10 s, so the
``.tflite`` file is written once next to the converted weights and later processes only
load it (the worker's cold start). Lite0 was made for this: no squeeze-excite, ReLU6.
"""
from __future__ import annotations

import contextlib
import io
import os
import threading
import warnings
from pathlib import Path

import numpy as np

from ml.efficientnet_lite import (
    build_efficientnet_lite0,
    default_cache_dir,
    feature_map_model,
    load_imagenet_weights,
    weights_version,
)
from ml.tf_setup import tf

# One interpreter per size (re-sizing one costs more than a run); a batch is split greedily
# into these sizes: per-image time hardly depends on the batch size here, so nothing is padded.
BATCH_SIZES = (1, 4, 8)  # larger sizes were no faster per image and hold more activation memory


OUTPUTS = ("pooled", "map")  # the 1280-d average-pooled embedding, or the head's feature map it pools


def tflite_path(image_size: int, cache_dir=None, arch: str = "lite0", output: str = "pooled") -> Path:
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    suffix = "" if output == "pooled" else f"_{output}"
    return cache / f"efficientnet_{weights_version(arch)}_notop_{int(image_size)}{suffix}.tflite"


def write_tflite(keras_model, path) -> Path:
    """Convert ``keras_model`` to a float32 ``.tflite`` file at ``path`` (atomically); returns the path."""
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every captured variable
        data = tf.lite.TFLiteConverter.from_keras_model(keras_model).convert()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{os.getpid()}-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: parallel workers never read half a file
    return path


def ensure_tflite_backbone(image_size: int, cache_dir=None, keras_backbone=None, arch: str = "lite0",
                           output: str = "pooled") -> Path:
    """Write the float32 TFLite ImageNet backbone for ``image_size`` unless it is cached; returns its path.

    ``output="map"`` ends at the head's feature map (``(s/32, s/32, 1280)``) instead of its average,
    for poolings other than the mean (ml/features.py :func:`~ml.features.gem`)."""
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}")
    path = tflite_path(image_size, cache_dir, arch, output)
    if path.exists():
        return path
    model = keras_backbone or load_imagenet_weights(
        build_efficientnet_lite0(image_size, include_top=False, arch=arch), cache_dir)
    return write_tflite(feature_map_model(model) if output == "map" else model, path)


def _interpreter_class():
    """LiteRT's interpreter when installed; else the one inside tensorflow-cpu (same runtime)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter
    except ImportError:
        return tf.lite.Interpreter


class TFLiteBackbone:
    """``backbone(batch)`` -> its output (the pooled embedding, or the trunk's feature map), for RGB
    batches in [0, 255] of shape (n, s, s, 3)."""

    def __init__(self, path, image_size: int, num_threads: int | None = None):
        self.model_bytes = Path(path).read_bytes()
        self.image_size = int(image_size)
        self.num_threads = num_threads or min(os.cpu_count() or 1, 4)
        self._interpreters: dict[int, object] = {}
        self._lock = threading.Lock()  # an interpreter must not be invoked from two threads at once

    def _interpreter(self, batch: int):
        it = self._interpreters.get(batch)
        if it is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tf.lite.Interpreter's notice about LiteRT
                it = _interpreter_class()(model_content=self.model_bytes, num_threads=self.num_threads)
            it.resize_tensor_input(it.get_input_details()[0]["index"], [batch, self.image_size, self.image_size, 3])
            it.allocate_tensors()
            self._interpreters[batch] = it
        return it

    def warm_up(self, batch_sizes=(1,)) -> None:
        """Create (and run once) the interpreters for these batch sizes, so no request pays for it."""
        for b in batch_sizes:
            self(np.zeros((b, self.image_size, self.image_size, 3), np.float32))

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, np.float32)
        out = []
        with self._lock:
            i = 0
            while i < len(batch):
                size = max(b for b in BATCH_SIZES if b <= len(batch) - i)
                it = self._interpreter(size)
                it.set_tensor(it.get_input_details()[0]["index"], batch[i:i + size])
                it.invoke()
                out.append(it.get_tensor(it.get_output_details()[0]["index"]).copy())
                i += size
        if out:
            return np.concatenate(out)
        shape = self._interpreter(1).get_output_details()[0]["shape"][1:]
        return np.zeros((0, *shape), np.float32)


if __name__ == "__main__":  # python -m ml.tflite_backbone 192 [224 ...]: convert at set-up, not at first start
    import sys

    for arg in sys.argv[1:] or ["224"]:
        print(ensure_tflite_backbone(int(arg)))
