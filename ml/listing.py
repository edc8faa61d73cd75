"""Photos in, marketplace listings out: the one object the web app and worker use.

``ListingGenerator.load(bundle_dir)`` once per process (the TF models stay loaded),
then ``generate(images)`` per request; images are embedded in batches and the
descriptions are decoded in one batch too.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from ml import vocab
from ml.image_model import ImageAttributeModel
from ml.text_model import DescriptionModel

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

    def generate(self, images, tone: str = "elegant", length: str = "medium", seed: int = 0) -> list[dict]:
        """One listing per image: ``{"attributes", "title", "description", "tags", "model_version"}``.

        ``attributes`` maps each attribute to ``{"value": str, "confidence": float}``.
        """
        if tone not in vocab.TONES or length not in vocab.LENGTHS:
            raise ValueError(f"tone must be one of {vocab.TONES}, length one of {vocab.LENGTHS}")
        images = list(images)
        if not images:
            return []
        emb = self.image_model.embed(images)
        preds = self.image_model.predict_features(emb)
        values = [{a: p[a]["value"] for a in vocab.ATTRIBUTE_NAMES} for p in preds]
        texts = self.text_model.generate(emb, values, tone=tone, length=length, seed=seed)
        return [{"attributes": {a: {"value": p[a]["value"], "confidence": round(p[a]["confidence"], 4)}
                                for a in vocab.ATTRIBUTE_NAMES},
                 "title": compose_title(v), "description": t, "tags": compose_tags(v, tone),
                 "model_version": self.model_version}
                for p, v, t in zip(preds, values, texts)]

    def save(self, bundle_dir) -> None:
        d = Path(bundle_dir)
        d.mkdir(parents=True, exist_ok=True)
        self.image_model.save(d / "image")
        self.text_model.save(d / "text")
        meta = {"created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **self.meta,
                "vocab": {"attributes": vocab.ATTRIBUTES, "tones": vocab.TONES, "lengths": vocab.LENGTHS}}
        (d / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, bundle_dir, cache_dir=None) -> "ListingGenerator":
        d = Path(bundle_dir)
        meta = json.loads((d / "meta.json").read_text())
        return cls(ImageAttributeModel.load(d / "image", cache_dir), DescriptionModel.load(d / "text"), meta)
