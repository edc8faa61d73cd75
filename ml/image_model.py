"""Image -> attributes: an EfficientNet-Lite0 backbone with one softmax head each.

The heads train on backbone features computed once; catalogue training may also
fine-tune the backbone's top blocks (ml/finetune.py), whose weights then travel in the
bundle with a TFLite copy of the tuned backbone, so serving stays as fast. The same
embedding conditions the description model.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ml import vocab
from ml.efficientnet_lite import (
    EMBED_DIM,
    WEIGHTS_VERSION,
    build_efficientnet_lite0,
    build_top,
    copy_weights,
    default_cache_dir,
    load_imagenet_weights,
    trunk_model,
)
from ml.tf_setup import keras, seed_everything
from ml.tflite_backbone import TFLiteBackbone, ensure_tflite_backbone, write_tflite

HEADS_FILE, CONFIG_FILE = "image_heads.weights.h5", "image_model.json"
TOP_FILE, TFLITE_FILE = "backbone_top.npz", "backbone.tflite"  # only in bundles with a fine-tuned top
FIRST_TOP_BLOCK = 14  # fine-tuning trains blocks 14-15 and the 1280-d head conv; 0-13 stay as ImageNet made them


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

    def __init__(self, image_size: int = 224, cache_dir=None, serving: str = "tflite", tuned_top=None,
                 tflite_file=None):
        self.image_size = int(image_size)
        self.cache_dir = cache_dir
        if serving not in ("tflite", "keras"):
            raise ValueError("serving must be 'tflite' or 'keras'")
        self.serving = serving  # "tflite" (ml/tflite_backbone.py) or "keras"
        self.tuned_top = tuned_top  # {layer name: [arrays]} of the fine-tuned top, or None (ImageNet)
        self._backbone = self._fast = self._top = None
        self._tflite_file = tflite_file
        if serving == "tflite":
            self._fast = TFLiteBackbone(tflite_file or ensure_tflite_backbone(self.image_size, cache_dir),
                                        self.image_size)
        self.heads = None

    @property
    def backbone(self):
        """The Keras backbone (training, Grad-CAM, reference), with the tuned top if any; built on first use."""
        if self._backbone is None:
            model = load_imagenet_weights(build_efficientnet_lite0(self.image_size, include_top=False),
                                          self.cache_dir)
            for name, values in (self.tuned_top or {}).items():
                model.get_layer(name).set_weights(values)
            self._backbone = model
        return self._backbone

    def top(self):
        """Blocks FIRST_TOP_BLOCK.. and the head as a Keras model of the trunk's feature map."""
        if self._top is None:
            shape = trunk_model(self.backbone, FIRST_TOP_BLOCK).output.shape[1:]
            self._top = build_top(shape, FIRST_TOP_BLOCK)
            copy_weights(self.backbone, self._top)
        return self._top

    def set_tuned_top(self, weights: dict[str, list[np.ndarray]]) -> None:
        """Serve a fine-tuned top: rebuild the Keras backbone and convert it for TFLite (~10 s)."""
        self.tuned_top = {name: [np.asarray(v, np.float32) for v in values] for name, values in weights.items()}
        self._backbone = self._top = None
        if self.serving == "tflite":
            digest = hashlib.sha256(b"".join(v.tobytes() for vs in self.tuned_top.values() for v in vs))
            path = (Path(self.cache_dir) if self.cache_dir else default_cache_dir()) / \
                f"efficientnet_{WEIGHTS_VERSION}_tuned-{digest.hexdigest()[:16]}_{self.image_size}.tflite"
            self._tflite_file = path if path.exists() else write_tflite(self.backbone, path)
            self._fast = TFLiteBackbone(self._tflite_file, self.image_size)

    # -- features -------------------------------------------------------------
    def embed_trunk(self, features: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Embeddings from the trunk's feature maps (fine-tuning's cached input), through this model's top."""
        top = self.top()
        return np.concatenate([np.asarray(top(np.asarray(features[i:i + batch_size], np.float32), training=False))
                               for i in range(0, len(features), batch_size)] or [np.zeros((0, EMBED_DIM))])

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
        y, weights = _targets(labels)
        self.heads.fit(features, y, sample_weight=weights, epochs=epochs, batch_size=64, shuffle=True,
                       verbose=verbose)
        if val_features is None or not len(val_features):
            return {}
        return self.accuracy(val_features, val_labels)

    def accuracy(self, features: np.ndarray, labels: list[dict[str, str]]) -> dict[str, float]:
        """Per attribute, over the labels that are known (``None`` is unknown)."""
        preds = self.predict_features(features)
        out = {}
        for a in vocab.ATTRIBUTE_NAMES:
            hits = [p[a]["value"] == lab[a] for p, lab in zip(preds, labels, strict=True) if lab.get(a) is not None]
            out[a] = float(np.mean(hits)) if hits else None
        return out

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
                          "scores": {v: float(s) for v, s in zip(values, p, strict=True)}}
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
        config = {"image_size": self.image_size, "backbone": f"efficientnet-{WEIGHTS_VERSION}",
                  "attributes": vocab.ATTRIBUTES}
        if self.tuned_top:
            config["tuned_top"] = {"first_block": FIRST_TOP_BLOCK, "layers": sorted(self.tuned_top)}
            np.savez(d / TOP_FILE, **{f"{name}/{i}": v for name, values in self.tuned_top.items()
                                     for i, v in enumerate(values)})
            if self._tflite_file is None:
                self._tflite_file = write_tflite(self.backbone, d / TFLITE_FILE)
            elif Path(self._tflite_file).resolve() != (d / TFLITE_FILE).resolve():
                shutil.copyfile(self._tflite_file, d / TFLITE_FILE)
        json.dump(config, open(d / CONFIG_FILE, "w"))

    @classmethod
    def load(cls, directory, cache_dir=None, serving: str = "tflite") -> ImageAttributeModel:
        d = Path(directory)
        cfg = json.load(open(d / CONFIG_FILE))
        if {a: tuple(v) for a, v in cfg["attributes"].items()} != vocab.ATTRIBUTES:
            raise ValueError("bundle was trained with a different attribute vocabulary")
        tuned, tflite_file = None, None
        if "tuned_top" in cfg:
            if cfg["tuned_top"]["first_block"] != FIRST_TOP_BLOCK:
                raise ValueError("bundle's backbone was fine-tuned from another block")
            tuned = {}
            with np.load(d / TOP_FILE) as data:
                for key in sorted(data.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
                    tuned.setdefault(key.rsplit("/", 1)[0], []).append(data[key])
            tflite_file = d / TFLITE_FILE
        model = cls(cfg["image_size"], cache_dir, serving, tuned_top=tuned, tflite_file=tflite_file)
        model.heads = _build_heads()
        model.heads.load_weights(d / HEADS_FILE)
        return model


def _targets(labels):
    """Class ids and per-sample weights: an unknown value (``None``) weighs nothing in its head's loss."""
    ids = {a: np.array([vocab.index_of(a, lab[a]) if lab.get(a) is not None else 0 for lab in labels], np.int32)
           for a in vocab.ATTRIBUTE_NAMES}
    weights = {a: np.array([float(lab.get(a) is not None) for lab in labels], np.float32)
               for a in vocab.ATTRIBUTE_NAMES}
    return ids, weights
