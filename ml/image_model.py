"""Image -> attributes: a frozen EfficientNet-Lite0 backbone with one softmax head each.

Only the heads are trained, on backbone features computed once, so training is a
matter of seconds on a CPU and the same features double as the image embedding that
conditions the description model.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ml import vocab
from ml._tf import keras, seed_everything
from ml.efficientnet_lite import EMBED_DIM, WEIGHTS_VERSION, build_efficientnet_lite0, load_imagenet_weights
from ml.tflite_backbone import TFLiteBackbone, ensure_tflite_backbone

HEADS_FILE, CONFIG_FILE = "image_heads.weights.h5", "image_model.json"


def to_square(img: Image.Image, size: int) -> np.ndarray:
    """RGB array ``size`` x ``size``: the whole picture kept, padded with its border colour."""
    img = ImageOps.exif_transpose(img).convert("RGB")
    edge = np.asarray(img.resize((16, 16)), np.float32)
    border = np.concatenate([edge[0], edge[-1], edge[:, 0], edge[:, -1]]).mean(0)
    return np.asarray(ImageOps.pad(img, (size, size), Image.BILINEAR, tuple(int(c) for c in border)),
                      np.float32)


def _build_heads(dropout=0.5):
    """Linear softmax heads on the L2-normalised embedding.

    Normalising each embedding (rather than standardising features with statistics of
    the drawn catalogue) transferred better from drawings to real photos in our checks.
    """
    inp = keras.Input((EMBED_DIM,), name="embedding")
    x = keras.layers.UnitNormalization(name="unit_norm")(inp)
    x = keras.layers.Rescaling(30.0, name="scale")(x)
    x = keras.layers.Dropout(dropout)(x)
    outs = {a: keras.layers.Dense(len(vals), activation="softmax", name=a,
                                  kernel_regularizer=keras.regularizers.L2(1e-4))(x)
            for a, vals in vocab.ATTRIBUTES.items()}
    return keras.Model(inp, outs, name="attribute_heads")


class ImageAttributeModel:
    """Predicts every attribute in :data:`ml.vocab.ATTRIBUTES` from photos."""

    def __init__(self, image_size: int = 224, cache_dir=None, serving: str = "tflite"):
        self.image_size = int(image_size)
        self.cache_dir = cache_dir
        self.serving = serving  # "tflite" (ml/tflite_backbone.py) or "keras"
        self._backbone = self._fast = None
        if serving == "tflite":
            self._fast = TFLiteBackbone(ensure_tflite_backbone(self.image_size, cache_dir), self.image_size)
        elif serving != "keras":
            raise ValueError("serving must be 'tflite' or 'keras'")
        self.heads = None

    @property
    def backbone(self):
        """The Keras backbone (training, Grad-CAM, reference); built on first use."""
        if self._backbone is None:
            self._backbone = load_imagenet_weights(
                build_efficientnet_lite0(self.image_size, include_top=False), self.cache_dir)
        return self._backbone

    # -- features -------------------------------------------------------------
    def embed(self, images: list[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Pooled 1280-d backbone embedding per image, shape ``(len(images), 1280)``."""
        out = np.zeros((len(images), EMBED_DIM), np.float32)
        for i in range(0, len(images), batch_size):
            batch = np.stack([to_square(im, self.image_size) for im in images[i:i + batch_size]])
            if self._fast is not None:
                out[i:i + len(batch)] = self._fast(batch)
            else:
                out[i:i + len(batch)] = self.backbone(batch, training=False).numpy()
        return out

    # -- training -------------------------------------------------------------
    def fit(self, features: np.ndarray, labels: list[dict[str, str]], epochs: int = 40,
            val_features=None, val_labels=None, seed: int = 0, verbose: int = 0) -> dict:
        """Train the heads on cached features; returns validation accuracy per attribute."""
        seed_everything(seed)
        self.heads = _build_heads()
        self.heads.compile(optimizer=keras.optimizers.Adam(2e-3),
                           loss={a: "sparse_categorical_crossentropy" for a in vocab.ATTRIBUTE_NAMES},
                           metrics={a: ["accuracy"] for a in vocab.ATTRIBUTE_NAMES})
        y = _targets(labels)
        self.heads.fit(features, y, epochs=epochs, batch_size=64, shuffle=True, verbose=verbose)
        if val_features is None or not len(val_features):
            return {}
        return self.accuracy(val_features, val_labels)

    def accuracy(self, features: np.ndarray, labels: list[dict[str, str]]) -> dict[str, float]:
        preds = self.predict_features(features)
        return {a: float(np.mean([p[a]["value"] == lab[a] for p, lab in zip(preds, labels)]))
                for a in vocab.ATTRIBUTE_NAMES}

    # -- inference ------------------------------------------------------------
    def predict_features(self, features: np.ndarray) -> list[dict]:
        if self.heads is None:
            raise RuntimeError("the heads are not trained or loaded")
        probs = self.heads(np.asarray(features, np.float32), training=False)
        probs = {a: np.asarray(p) for a, p in probs.items()}
        results = []
        for i in range(len(features)):
            row = {}
            for a, values in vocab.ATTRIBUTES.items():
                p = probs[a][i]
                k = int(p.argmax())
                row[a] = {"value": values[k], "confidence": float(p[k]),
                          "scores": {v: float(s) for v, s in zip(values, p)}}
            results.append(row)
        return results

    def predict(self, images: list[Image.Image]) -> list[dict]:
        """Per image: ``{attribute: {"value": str, "confidence": float, "scores": {value: p}}}``."""
        return self.predict_features(self.embed(images))

    # -- persistence ----------------------------------------------------------
    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.heads.save_weights(d / HEADS_FILE)
        json.dump({"image_size": self.image_size, "backbone": f"efficientnet-{WEIGHTS_VERSION}",
                   "attributes": vocab.ATTRIBUTES}, open(d / CONFIG_FILE, "w"))

    @classmethod
    def load(cls, directory, cache_dir=None, serving: str = "tflite") -> "ImageAttributeModel":
        d = Path(directory)
        cfg = json.load(open(d / CONFIG_FILE))
        if {a: tuple(v) for a, v in cfg["attributes"].items()} != vocab.ATTRIBUTES:
            raise ValueError("bundle was trained with a different attribute vocabulary")
        model = cls(cfg["image_size"], cache_dir, serving)
        model.heads = _build_heads()
        model.heads.load_weights(d / HEADS_FILE)
        return model


def _targets(labels):
    return {a: np.array([vocab.index_of(a, lab[a]) for lab in labels], np.int32)
            for a in vocab.ATTRIBUTE_NAMES}
