"""One training run: data from the database, a candidate bundle, the promotion gate.

Shared by `flask ml train` and the periodic retraining task. The held-out split is
chosen by each photo's fingerprint, so it is the same for every run and never trained
on; the gate scores the current version and the candidate on it, and promotes the
candidate only when its score is not worse (PROMOTION_TOLERANCE).
TensorFlow is imported inside the functions: importing this module stays cheap.
"""
from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from ml.evaluate import score
from ml.features import cached_views
from ml.heads import probe_scores
from ml.train_catalog import cached_trunk_features, embed_views, train_bundle
from webapp.extensions import db
from webapp.training_tables import TrainingItem
from workers.training import registry
from workers.training.feedback import sync_feedback


def is_holdout(fingerprint: str, percent: int) -> bool:
    return int(fingerprint[:8], 16) % 100 < percent


def split_items(percent: int) -> tuple[list[TrainingItem], list[TrainingItem]]:
    items = db.session.scalars(select(TrainingItem).where(TrainingItem.active.is_(True))
                               .order_by(TrainingItem.id)).all()
    seen, unique = set(), []
    for item in items:  # the same photo from two sources counts once
        if item.fingerprint not in seen:
            seen.add(item.fingerprint)
            unique.append(item)
    train = [i for i in unique if not is_holdout(i.fingerprint, percent)]
    hold = [i for i in unique if is_holdout(i.fingerprint, percent)]
    return train, hold


def data_fingerprint(items) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.fingerprint):
        digest.update(json.dumps([item.fingerprint, item.labels(), item.description or ""]).encode())
    return digest.hexdigest()


def _loader(store, key):
    def load():
        with Image.open(io.BytesIO(store.read(key))) as im:
            return im.convert("RGB")
    return load


def gate_score(report: dict) -> float | None:
    """Mean accuracy over the attributes the held-out split labels (None without labels)."""
    accs = [r["accuracy"] for r in report.values() if r.get("n")]
    return sum(accs) / len(accs) if accs else None


def train_candidate(store, config, seed: int = 0, head_epochs: int = 80, text_epochs: int = 6,
                    min_texts: int = 50, min_labels: int = 20, finetune: bool = False, gate: bool = True, log=print,
                    progress=None) -> dict:
    """Train, register and (if the gate allows) promote a new version; returns what happened."""
    # TensorFlow only when a run starts: the web's `flask ml` registration and the ops page import this package.
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

    registry.ensure_bootstrap(store, config)
    feedback = sync_feedback(store, config)
    if feedback:
        log("feedback: " + ", ".join(f"{k} {v}" for k, v in sorted(feedback.items())))
    train, hold = split_items(config["HOLDOUT_PERCENT"])
    if not any(i.category for i in train):
        raise RuntimeError("no labelled training items: run `flask catalog import-folder` or `import-mysql` first")
    log(f"{len(train)} training photos, {len(hold)} held out")
    base = ListingGenerator.load(registry.promoted_bundle(store, config))
    # The gate scores both versions on the same held-out photos; the frozen trunk's maps are
    # shared (and cached), each version's own top turns them into its embedding.
    hold_trunk = cached_trunk_features(base.image_model, [_loader(store, i.image_key) for i in hold],
                                       [i.fingerprint for i in hold], 1, seed, config["FEATURE_CACHE_DIR"])
    hold_labels = [i.labels() for i in hold]
    hold_images = [_loader(store, i.image_key) for i in hold]

    def held_out_score(model):
        return score(model.predict_features(held_out_embeddings(model, hold_images, hold, hold_trunk, config)),
                     hold_labels, taxonomy=model.taxonomy) if hold else {}

    before = held_out_score(base.image_model)
    fingerprint = data_fingerprint(train)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bundle"
        candidate = train_bundle(
            base, None, [_loader(store, i.image_key) for i in train], [i.fingerprint for i in train],
            [i.labels() for i in train], [i.description for i in train], [i.tone for i in train],
            seed=seed, head_epochs=head_epochs, text_epochs=text_epochs, min_texts=min_texts,
            min_labels=min_labels, finetune=finetune,
            feature_cache=config["FEATURE_CACHE_DIR"], log=log, progress=progress,
            extra_meta={"data_fingerprint": fingerprint,
                        "sources": sorted({i.source for i in train})})
        after = held_out_score(candidate.image_model)
        baseline = probe_baseline(candidate.image_model, store, train, hold, hold_images, config) if hold else {}
        old, new = gate_score(before), gate_score(after)
        passed = old is None or (new is not None and new >= old - config["PROMOTION_TOLERANCE"])
        decision = {"holdout_n": len(hold), "current_version": base.model_version,
                    "current_score": old, "candidate_score": new, "passed": passed,
                    "current": _brief(before), "candidate": _brief(after), "linear_probe": baseline}
        candidate.meta["metrics"]["holdout"] = _brief(after)
        candidate.save(out)
        row = registry.register(store, config, out, data_fingerprint=fingerprint, gate=decision)
    promoted = False
    if passed or not gate:
        registry.promote(row.version)
        promoted = True
    return {"version": row.version, "promoted": promoted, "gate": decision, "feedback": dict(feedback),
            "n_train": len(train)}


def _brief(report: dict) -> dict:
    """What the gate records per attribute: accuracy, macro-F1, ECE, n, and the flags'
    coverage (share shown unflagged) and risk (error rate among those)."""
    keys = ("accuracy", "macro_f1", "ece", "n", "coverage", "risk")
    return {a: {k: r.get(k) for k in keys} for a, r in report.items()}


def held_out_embeddings(model, images, hold, hold_trunk, config):
    """Held-out embeddings as ``model`` serves them: its test views (flip averaging) through the
    ImageNet backbone, or the shared trunk maps through its own top when it was fine-tuned."""
    if model.tuned_top or model.test_views == ("plain",):
        return embed_views(model, hold_trunk)[:, 0]
    return cached_views(model, images, [i.fingerprint for i in hold], model.test_views,
                        config["FEATURE_CACHE_DIR"]).mean(1)


def probe_baseline(model, store, train, hold, hold_images, config) -> dict:
    """The linear probe (ImageNet embedding, plain view, softmax regression) trained on the same
    photos and scored on the same held-out ones: the baseline beside the candidate."""
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow)

    plain = ImageAttributeModel(model.image_size, model.cache_dir, arch=model.arch)
    cache = config["FEATURE_CACHE_DIR"]
    train_emb = cached_views(plain, [_loader(store, i.image_key) for i in train], [i.fingerprint for i in train],
                             ("plain",), cache)[:, 0]
    hold_emb = cached_views(plain, hold_images, [i.fingerprint for i in hold], ("plain",), cache)[:, 0]
    return probe_scores(train_emb, [i.labels() for i in train], hold_emb, [i.labels() for i in hold],
                        model.taxonomy)
