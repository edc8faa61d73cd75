"""Photos in, marketplace listings out: the one object the web app and worker use.

``ListingGenerator.load(bundle_dir)`` once per process (the TF models stay loaded),
then ``generate(images)`` per request; images are embedded in batches and the
descriptions are decoded in one batch too.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from ml import vocab
from ml.image_model import ImageAttributeModel
from ml.listing_text import compose_tags, compose_title, writing_values
from ml.taxonomy import Taxonomy
from ml.text_model import DECODINGS, DescriptionModel
from ml.tflite_backbone import BATCH_SIZES

TAXONOMY_FILE = "taxonomy.json"


class ListingGenerator:
    def __init__(self, image_model: ImageAttributeModel, text_model: DescriptionModel, meta: dict):
        self.image_model, self.text_model, self.meta = image_model, text_model, meta

    @property
    def model_version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    @property
    def taxonomy(self) -> Taxonomy:
        return self.image_model.taxonomy

    def attributes(self, pred: dict, given: dict | None = None) -> tuple[dict, list[str]]:
        """A listing's attributes from one :meth:`ImageAttributeModel.predict_features` row and the
        values ``given`` (kept as they are); returns them and the names the model filled in.

        A model value is ``{"value", "confidence", "source": "model", "flagged"}`` (``flagged``:
        under the attribute's calibrated threshold, or a value with too few labels)."""
        attrs = {a: dict(v) for a, v in (given or {}).items() if str((v or {}).get("value") or "").strip()}
        new = [a for a in pred if a not in attrs]
        for a in new:
            attrs[a] = {"value": pred[a]["value"], "confidence": round(pred[a]["confidence"], 4), "source": "model",
                        "flagged": bool(pred[a]["flagged"])}
        return attrs, new

    def generate(self, images, tone="elegant", length="medium", seed=0, decoding="top_p",
                 given=None, facts=None) -> list[dict]:
        """One listing per image: ``{"attributes", "predicted", "title", "description", "tags", "model_version"}``.

        ``given`` (one dict per image, or none) holds the listing's current attributes
        (``{"value", "source", ...}``): they are kept as they are and the text is written from
        them; the image model fills only the attributes not given (``predicted`` names them).
        ``facts`` (one dict per image) are the seller's own fields (materials, origin...).
        ``tone`` and ``length`` are one value for all images or a list with one per image, so
        jobs with different options still share one batched run; so is ``seed`` (a regeneration
        passes a new one for new wording). ``decoding`` is one of :data:`ml.text_model.DECODINGS`
        (``"beam"`` decodes step by step: slower, see docs/models.md).
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
        given = [dict(g or {}) for g in given] if given is not None else [{} for _ in images]
        facts = [dict(f or {}) for f in facts] if facts is not None else [{} for _ in images]
        emb = self.image_model.embed(images)
        # Given values constrain the prediction (a person's silver rules out gold-tone).
        fixed = [{a: (v or {}).get("value") for a, v in g.items() if self.taxonomy.knows(a, (v or {}).get("value"))}
                 for g in given]
        preds = self.image_model.predict_features(emb, fixed)
        merged, predicted = zip(*(self.attributes(p, g) for p, g in zip(preds, given, strict=True)), strict=True)
        return self.write(emb, list(merged), facts, tones, lengths, seed, decoding, list(predicted))

    def write(self, emb, attributes: list[dict], facts: list[dict], tones, lengths, seed=0, decoding="top_p",
              predicted=None) -> list[dict]:
        """Title, description and tags written from given attributes and facts; attributes unchanged."""
        values = [writing_values(a) for a in attributes]
        texts = self.text_model.generate(emb, values, tone=tones, length=lengths, seed=seed, decoding=decoding,
                                         facts=facts)
        predicted = predicted or [[] for _ in attributes]
        # The embedding goes with each listing: the worker stores it for "more like this" and
        # the duplicate-photo check (webapp/catalog/similar.py).
        return [{"attributes": a, "predicted": list(p), "title": compose_title(v), "description": t,
                 "tags": compose_tags(v, f), "model_version": self.model_version, "embedding": e}
                for a, p, v, t, f, e in zip(attributes, predicted, values, texts, facts, emb, strict=False)]

    def warm_up(self) -> None:
        """Run every compiled path once (TFLite interpreters, traced decoding), so the first
        real job after a worker starts is as fast as the rest."""
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
                "vocab": {"attributes": {a: list(v) for a, v in self.taxonomy.attributes.items()},
                          "tones": vocab.TONES, "lengths": vocab.LENGTHS}}
        (d / TAXONOMY_FILE).write_text(self.taxonomy.dumps())
        (d / "meta.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, bundle_dir, cache_dir=None, serving: str = "tflite") -> ListingGenerator:
        """``serving="tflite"`` runs the backbone through TFLite/XNNPACK; ``"keras"`` calls the Keras model."""
        d = Path(bundle_dir)
        meta = json.loads((d / "meta.json").read_text())
        return cls(ImageAttributeModel.load(d / "image", cache_dir, serving), DescriptionModel.load(d / "text"), meta)
