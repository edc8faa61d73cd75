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

from ml import conformal, features, zoom
from ml.efficientnet_lite import (
    EMBED_DIM,
    build_efficientnet_lite0,
    build_top,
    copy_weights,
    default_cache_dir,
    feature_map_model,
    load_imagenet_weights,
    trunk_model,
    weights_version,
)
from ml.features import head_input
from ml.taxonomy import DEFAULT, Taxonomy
from ml.tf_setup import keras, seed_everything
from ml.tflite_backbone import TFLiteBackbone, ensure_tflite_backbone, write_tflite

HEADS_FILE, CONFIG_FILE = "image_heads.weights.h5", "image_model.json"
LOCATOR_FILE = "locator.npz"  # only in bundles whose heads read a crop round the piece (ml/zoom.py)
TOP_FILE, TFLITE_FILE = "backbone_top.npz", "backbone.tflite"  # only in bundles with a fine-tuned top
FIRST_TOP_BLOCK = 14  # fine-tuning trains blocks 14-15 and the 1280-d head conv; 0-13 stay as ImageNet made them


def to_square(img: Image.Image, size: int) -> np.ndarray:
    """RGB array ``size`` x ``size``: the whole picture kept, padded with its border colour."""
    img = ImageOps.exif_transpose(img).convert("RGB")
    edge = np.asarray(img.resize((16, 16)), np.float32)
    border = np.concatenate([edge[0], edge[-1], edge[:, 0], edge[:, -1]]).mean(0)
    return np.asarray(ImageOps.pad(img, (size, size), Image.BILINEAR, tuple(int(c) for c in border)),
                      np.float32)


def _build_heads(taxonomy: Taxonomy, dropout=0.5, width: int = EMBED_DIM):
    """Linear softmax heads on the L2-normalised head input (ml/features.py :func:`~ml.features.head_input`).

    Normalising each embedding (rather than standardising features with statistics of
    the drawn catalogue) transferred better from drawings to real photos in our checks.
    """
    inp = keras.Input((width,), name="embedding")
    x = keras.layers.UnitNormalization(name="unit_norm")(inp)
    x = keras.layers.Rescaling(30.0, name="scale")(x)
    x = keras.layers.Dropout(dropout)(x)
    outs = {a: keras.layers.Dense(len(vals), activation="softmax", name=a,
                                  kernel_regularizer=keras.regularizers.L2(1e-4))(x)
            for a, vals in taxonomy.attributes.items()}
    return keras.Model(inp, outs, name="attribute_heads")


class ImageAttributeModel:
    """Predicts every attribute of its taxonomy from photos.

    ``test_views`` are averaged at inference (ml/features.py); ``extras`` are the feature parts
    after the 1280-d embedding that the heads also read (ml/features.py ``EXTRAS``: ``gem``,
    ``colour``; the starter reads ``colour``; ``zoom``, ``zoom_colour``: a crop round the piece);
    ``locator`` (``{"w", "b"}``, a category head on the embedding) says where the piece is for the
    zoom parts, the feature map's channel sum without one (ml/zoom.py); ``calibration`` holds each
    attribute's threshold for showing a value without a flag (ml/conformal.py).
    """

    def __init__(self, image_size: int = 224, cache_dir=None, serving: str = "tflite", tuned_top=None,
                 tflite_file=None, arch: str = "lite0", taxonomy: Taxonomy | None = None,
                 test_views=("plain",), calibration: dict | None = None, extras=(), trained_heads=(),
                 locator: dict | None = None):
        self.image_size = int(image_size)
        features.feature_dims(extras)  # rejects an unknown part
        self.extras = tuple(e for e in features.EXTRAS if e in extras)
        # Heads trained on the marketplace's own photos (a catalogue version's); none in the starter.
        self.trained_heads = tuple(trained_heads)
        self.arch = arch
        self.locator = None if locator is None else {k: np.asarray(locator[k], np.float32) for k in ("w", "b")}
        self.taxonomy = taxonomy or DEFAULT
        self.test_views = tuple(test_views)
        self.calibration = dict(calibration or {})
        self.cache_dir = cache_dir
        if serving not in ("tflite", "keras"):
            raise ValueError("serving must be 'tflite' or 'keras'")
        self.serving = serving  # "tflite" (ml/tflite_backbone.py) or "keras"
        self.tuned_top = tuned_top  # {layer name: [arrays]} of the fine-tuned top, or None (ImageNet)
        self._backbone = self._fast = self._top = None
        self._tflite_file = tflite_file
        if serving == "tflite":
            if tflite_file is None:
                tflite_file = ensure_tflite_backbone(self.image_size, cache_dir, arch=arch,
                                                     output="map" if self._needs_map else "pooled")
            self._fast = TFLiteBackbone(tflite_file, self.image_size)
        self.heads = None

    @property
    def _needs_map(self) -> bool:
        """Whether the backbone must end at its feature map (GeM pooling, or locating the piece)."""
        return "gem" in self.extras or any(p in self.extras for p in zoom.PARTS)

    @property
    def backbone_name(self) -> str:
        """Names cached embeddings (ml/features.py): the ImageNet backbone, or the tuned one; with
        zoom parts, also the locator that chose the crops."""
        name = self.arch
        if self.tuned_top:
            digest = hashlib.sha256(b"".join(v.tobytes() for vs in self.tuned_top.values() for v in vs))
            name = f"{self.arch}-tuned-{digest.hexdigest()[:12]}"
        if any(p in self.extras for p in zoom.PARTS):
            loc = self.locator
            name += "-loc" + (hashlib.sha256(loc["w"].tobytes() + loc["b"].tobytes()).hexdigest()[:12]
                              if loc is not None else "saliency")
        return name

    @property
    def backbone(self):
        """The Keras backbone (training, Grad-CAM, reference), with the tuned top if any; built on first use."""
        if self._backbone is None:
            model = load_imagenet_weights(build_efficientnet_lite0(self.image_size, include_top=False,
                                                                   arch=self.arch), self.cache_dir)
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
        if self.extras:
            raise ValueError("a fine-tuned top is for bundles whose heads read the embedding alone")
        self.tuned_top = {name: [np.asarray(v, np.float32) for v in values] for name, values in weights.items()}
        self._backbone = self._top = None
        if self.serving == "tflite":
            digest = hashlib.sha256(b"".join(v.tobytes() for vs in self.tuned_top.values() for v in vs))
            path = (Path(self.cache_dir) if self.cache_dir else default_cache_dir()) / \
                f"efficientnet_{weights_version(self.arch)}_tuned-{digest.hexdigest()[:16]}_{self.image_size}.tflite"
            self._tflite_file = path if path.exists() else write_tflite(self.backbone, path)
            self._fast = TFLiteBackbone(self._tflite_file, self.image_size)

    # -- features -------------------------------------------------------------
    def embed_trunk(self, features: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Embeddings from the trunk's feature maps (fine-tuning's cached input), through this model's top."""
        top = self.top()
        return np.concatenate([np.asarray(top(np.asarray(features[i:i + batch_size], np.float32), training=False))
                               for i in range(0, len(features), batch_size)] or [np.zeros((0, EMBED_DIM))])

    @property
    def feature_width(self) -> int:
        """Width of :meth:`embed`'s rows: the 1280-d embedding and the extras."""
        return sum(features.feature_dims(self.extras))

    def embed(self, images: list[Image.Image], batch_size: int = 32, views=None) -> np.ndarray:
        """Features per image, ``(len(images), feature_width)``: the 1280-d backbone embedding
        (:meth:`embedding` cuts it out), then the extras; the mean over ``views`` (default: the
        model's test views, e.g. the photo and its mirror image)."""
        views = tuple(views or self.test_views)
        if views != ("plain",):
            per_view = [self.embed([features.view(im, v) for im in images], batch_size, ("plain",)) for v in views]
            return np.mean(per_view, 0).astype(np.float32)
        out = np.zeros((len(images), self.feature_width), np.float32)
        for i in range(0, len(images), batch_size):
            chunk = images[i:i + batch_size]
            raw = self._run(chunk)
            parts = [raw.mean((1, 2)) if self._needs_map else raw]
            if "gem" in self.extras:
                parts.append(features.gem(raw))
            if "colour" in self.extras:
                parts.append(np.stack([features.colour_descriptor(im) for im in chunk]))
            if any(p in self.extras for p in zoom.PARTS):  # a second pass, on the crop round the piece
                crops = zoom.zoom_crops(chunk, raw, self.locator)
                if "zoom" in self.extras:
                    parts.append(self._run(crops).mean((1, 2)))
                if "zoom_colour" in self.extras:
                    parts.append(np.stack([features.colour_descriptor(im) for im in crops]))
            out[i:i + len(chunk)] = np.concatenate(parts, 1)
        return out

    def _run(self, images) -> np.ndarray:
        """The backbone's output for ``images`` as padded squares: the feature map when an extra needs it."""
        batch = np.stack([to_square(im, self.image_size) for im in images])
        if self._fast is not None:
            return self._fast(batch)
        if self._needs_map:
            return feature_map_model(self.backbone)(batch, training=False).numpy()
        return self.backbone(batch, training=False).numpy()

    @staticmethod
    def embedding(feats: np.ndarray) -> np.ndarray:
        """The 1280-d backbone embedding out of :meth:`embed`'s features (the describer's input)."""
        return np.asarray(feats)[..., :EMBED_DIM]

    # -- training -------------------------------------------------------------
    def fit(self, features: np.ndarray, labels: list[dict[str, str]], epochs: int = 40,
            val_features=None, val_labels=None, seed: int = 0, verbose: int = 0) -> dict:
        """Train the heads on cached features; returns validation accuracy per attribute."""
        seed_everything(seed)
        self.heads = _build_heads(self.taxonomy, width=self.feature_width)
        self.heads.compile(optimizer=keras.optimizers.Adam(2e-3),
                           loss={a: "sparse_categorical_crossentropy" for a in self.taxonomy.names},
                           metrics={a: ["accuracy"] for a in self.taxonomy.names})
        y, weights = _targets(labels, self.taxonomy)
        self.heads.fit(head_input(features, self.extras), y, sample_weight=weights, epochs=epochs, batch_size=64,
                       shuffle=True, verbose=verbose)
        if val_features is None or not len(val_features):
            return {}
        return self.accuracy(val_features, val_labels)

    def accuracy(self, features: np.ndarray, labels: list[dict[str, str]]) -> dict[str, float]:
        """Per attribute, over the labels that are known (``None`` is unknown)."""
        preds = self.predict_features(features)
        out = {}
        for a in self.taxonomy.names:
            hits = [p[a]["value"] == lab[a] for p, lab in zip(preds, labels, strict=True) if lab.get(a) is not None]
            out[a] = float(np.mean(hits)) if hits else None
        return out

    # -- inference ------------------------------------------------------------
    def probabilities(self, feats: np.ndarray) -> dict[str, np.ndarray]:
        """``{attribute: (n, values)}`` class probabilities of the heads, before any consistency rule."""
        if self.heads is None:
            raise RuntimeError("the heads are not trained or loaded")
        probs = self.heads(head_input(feats, self.extras), training=False)
        return {a: np.asarray(p, np.float64) for a, p in probs.items()}

    def predict_features(self, features: np.ndarray, fixed: list[dict] | None = None) -> list[dict]:
        """Per row: ``{attribute: {"value", "confidence", "scores", "flagged"}}``.

        Values are the most probable combination the taxonomy allows (no gold with
        silver-tone); ``fixed`` (one dict per row of values a person set) constrains it.
        """
        return self.predict_probabilities(self.probabilities(features), fixed)

    def predict_probabilities(self, probs: dict[str, np.ndarray], fixed: list[dict] | None = None) -> list[dict]:
        """:meth:`predict_features` from probabilities (e.g. combined over a product's photos)."""
        n = len(next(iter(probs.values()))) if probs else 0
        results = []
        for i in range(n):
            scores = {a: {v: float(s) for v, s in zip(self.taxonomy.values(a), probs[a][i], strict=True)}
                      for a in probs}
            chosen = self.resolve(scores, fixed[i] if fixed else None)
            row = {}
            for a in probs:
                if a not in chosen:  # set by a person: not the model's to predict
                    continue
                value, confidence = chosen[a]
                row[a] = {"value": value, "confidence": confidence, "scores": scores[a],
                          "flagged": conformal.is_flagged(value, confidence, self.calibration.get(a))}
            results.append(row)
        return results

    def resolve(self, scores: dict[str, dict[str, float]], fixed: dict | None = None) -> dict:
        """The taxonomy's most probable consistent values (:meth:`ml.taxonomy.Taxonomy.resolve`),
        the trained heads first: a head trained on the marketplace's photos is not overruled by
        one it kept from its base (the starter's, fitted to drawings) through a rule such as
        "a band is a ring"; the kept heads then take the values consistent with it."""
        fixed = {a: v for a, v in (fixed or {}).items() if v is not None}
        first = {a: p for a, p in scores.items() if a in self.trained_heads}
        if not first or len(first) == len(scores):
            return self.taxonomy.resolve(scores, fixed)
        chosen = self.taxonomy.resolve(first, fixed)
        rest = self.taxonomy.resolve(scores, {**fixed, **{a: v for a, (v, _) in chosen.items()}})
        return {**chosen, **rest}

    def predict(self, images: list[Image.Image]) -> list[dict]:
        """Per image: ``{attribute: {"value": str, "confidence": float, "scores": {value: p}}}``."""
        return self.predict_features(self.embed(images))

    # -- persistence ----------------------------------------------------------
    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.heads.save_weights(d / HEADS_FILE)
        if self.locator is not None:
            np.savez(d / LOCATOR_FILE, **self.locator)
        config = {"image_size": self.image_size, "taxonomy": self.taxonomy.to_json(),
                  "test_views": list(self.test_views), "extras": list(self.extras),
                  "trained_heads": list(self.trained_heads), "calibration": self.calibration,
                  "backbone": f"efficientnet-{weights_version(self.arch)}", "arch": self.arch,
                  "attributes": {a: list(v) for a, v in self.taxonomy.attributes.items()}}
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
        taxonomy = Taxonomy.from_json(cfg["taxonomy"]) if "taxonomy" in cfg else \
            DEFAULT.subset(()).extended({a: v for a, v in cfg["attributes"].items()})
        tuned, tflite_file = None, None
        if "tuned_top" in cfg:
            if cfg["tuned_top"]["first_block"] != FIRST_TOP_BLOCK:
                raise ValueError("bundle's backbone was fine-tuned from another block")
            tuned = {}
            with np.load(d / TOP_FILE) as data:
                for key in sorted(data.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
                    tuned.setdefault(key.rsplit("/", 1)[0], []).append(data[key])
            tflite_file = d / TFLITE_FILE
        model = cls(cfg["image_size"], cache_dir, serving, tuned_top=tuned, tflite_file=tflite_file,
                    arch=cfg.get("arch", "lite0"), taxonomy=taxonomy, test_views=cfg.get("test_views", ("plain",)),
                    calibration=cfg.get("calibration"), extras=cfg.get("extras", ()),
                    trained_heads=cfg.get("trained_heads", ()), locator=_load_locator(d))
        model.heads = _build_heads(taxonomy, width=model.feature_width)
        model.heads.load_weights(d / HEADS_FILE)
        return model


def _load_locator(d: Path) -> dict | None:
    if not (d / LOCATOR_FILE).exists():
        return None
    with np.load(d / LOCATOR_FILE) as data:
        return {"w": data["w"], "b": data["b"]}


def _targets(labels, taxonomy: Taxonomy):
    """Class ids and per-sample weights: an unknown value (``None``) weighs nothing in its head's loss."""
    ids = {a: np.array([taxonomy.index_of(a, lab[a]) if lab.get(a) is not None else 0 for lab in labels],
                       np.int32) for a in taxonomy.names}
    weights = {a: np.array([float(lab.get(a) is not None) for lab in labels], np.float32) for a in taxonomy.names}
    return ids, weights
