"""Photos in, marketplace listings out: the one object the web app and worker use.

``ListingGenerator.load(bundle_dir)`` once per process (the TF models stay loaded),
then ``generate(images)`` per request; images are embedded in batches and the
descriptions are decoded in one batch too.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ml import vocab
from ml.image_model import ImageAttributeModel
from ml.text_model import DECODINGS, DescriptionModel
from ml.tflite_backbone import BATCH_SIZES

TITLE_MAX = 80
CATEGORY_TITLE = {"ring": "Ring", "earrings": "Earrings", "necklace": "Necklace",
                  "pendant": "Pendant", "bracelet": "Bracelet", "brooch": "Brooch"}


def compose_title(attrs: dict[str, str]) -> str:
    """"Vintage Rose Gold Emerald Ring": style, metal, stone, category; at most 80 characters."""
    parts = [attrs["style"], attrs["metal"]]
    if attrs["gemstone"] != "none":
        parts.append(attrs["gemstone"])
    words = " ".join(parts).title().split() + [CATEGORY_TITLE.get(attrs["category"], attrs["category"].title())]
    while len(" ".join(words)) > TITLE_MAX and len(words) > 1:
        words.pop(0)  # the category stays; drop descriptive words from the front
    return " ".join(words)[:TITLE_MAX]


def compose_tags(attrs: dict[str, str], tone: str) -> list[str]:
    tags = [attrs["category"], attrs["metal"], f"{attrs['metal']} {attrs['category']}", attrs["style"],
            attrs["colour"]]
    if attrs["gemstone"] != "none":
        tags += [attrs["gemstone"], f"{attrs['gemstone']} {attrs['category']}"]
    tags += [f"{tone} jewellery", "jewellery"]
    return list(dict.fromkeys(t.lower() for t in tags))


class ListingGenerator:
    def __init__(self, image_model: ImageAttributeModel, text_model: DescriptionModel, meta: dict):
        self.image_model, self.text_model, self.meta = image_model, text_model, meta

    @property
    def model_version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def generate(self, images, tone="elegant", length="medium", seed: int = 0, decoding="top_p") -> list[dict]:
        """One listing per image: ``{"attributes", "title", "description", "tags", "model_version"}``.

        ``attributes`` maps each attribute to ``{"value": str, "confidence": float}``.
        ``tone`` and ``length`` are one value for all images or a list with one per image, so
        jobs with different options still share one batched run. ``decoding`` is one of
        :data:`ml.text_model.DECODINGS` (``"beam"`` decodes step by step: slower, see docs/models.md).
        """
        images = list(images)
        tones = [tone] * len(images) if isinstance(tone, str) else list(tone)
        lengths = [length] * len(images) if isinstance(length, str) else list(length)
        if any(t not in vocab.TONES for t in tones) or any(n not in vocab.LENGTHS for n in lengths) \
                or len(tones) != len(images) or len(lengths) != len(images):
            raise ValueError(f"tone must be one of {vocab.TONES}, length one of {vocab.LENGTHS}")
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}")
        if not images:
            return []
        emb = self.image_model.embed(images)
        preds = self.image_model.predict_features(emb)
        values = [{a: p[a]["value"] for a in vocab.ATTRIBUTE_NAMES} for p in preds]
        texts = self.text_model.generate(emb, values, tone=tones, length=lengths, seed=seed, decoding=decoding)
        return [{"attributes": {a: {"value": p[a]["value"], "confidence": round(p[a]["confidence"], 4)}
                                for a in vocab.ATTRIBUTE_NAMES},
                 "title": compose_title(v), "description": t, "tags": compose_tags(v, tn),
                 "model_version": self.model_version}
                for p, v, t, tn in zip(preds, values, texts, tones, strict=True)]

    def warm_up(self) -> None:
        """Run every compiled path once (TFLite interpreters, traced decoding), so the first
        real job after a worker starts is as fast as the rest."""
        from PIL import Image

        if self.image_model._fast is not None:
            self.image_model._fast.warm_up(BATCH_SIZES)
        self.generate([Image.new("RGB", (64, 64), (200, 190, 180))] * 2, tone=["elegant", "playful"],
                      length=["short", "long"])

    def save(self, bundle_dir) -> None:
        d = Path(bundle_dir)
        d.mkdir(parents=True, exist_ok=True)
        self.image_model.save(d / "image")
        self.text_model.save(d / "text")
        meta = {"created_at": datetime.now(UTC).isoformat(timespec="seconds"), **self.meta,
                "vocab": {"attributes": vocab.ATTRIBUTES, "tones": vocab.TONES, "lengths": vocab.LENGTHS}}
        (d / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, bundle_dir, cache_dir=None, serving: str = "tflite") -> ListingGenerator:
        """``serving="tflite"`` runs the backbone through TFLite/XNNPACK; ``"keras"`` calls the Keras model."""
        d = Path(bundle_dir)
        meta = json.loads((d / "meta.json").read_text())
        return cls(ImageAttributeModel.load(d / "image", cache_dir, serving), DescriptionModel.load(d / "text"), meta)
