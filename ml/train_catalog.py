"""Train a listing bundle on a marketplace's own labelled photos (and descriptions).

Starts from a base bundle (the starter or the promoted version) and the ImageNet
backbone. First each attribute head is trained on cached backbone features of augmented
views, with class weights against imbalance, a validation split, early stopping and a
fixed seed; then the backbone's top blocks are fine-tuned with those heads
(ml/finetune.py) and kept if that does better on the validation split; each head is
calibrated by temperature scaling on the validation split. Attributes with too few
labels keep the base bundle's head and are marked untrained. The describer is
retrained when the catalogue has enough descriptions.
"""
from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from ml import vocab
from ml.finetune import class_weights, fine_tune, label_indices, trunk_runner

AUG_VIEWS = 4  # original + 3 augmented views per training photo
MIN_CLASSES = 2  # an attribute needs at least two labelled values to learn anything
MIN_LABELS = 20  # ... and this many labelled photos, or its head would learn the few it saw


def augment(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Random crop (70-100 % of each side), flip, small rotation and light/colour jitter."""
    img = img.convert("RGB")
    w, h = img.size
    s = rng.uniform(0.7, 1.0)
    cw, ch = int(w * s), int(h * s)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = img.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    img = img.rotate(float(rng.uniform(-15, 15)), resample=Image.BILINEAR, expand=False,
                     fillcolor=tuple(int(c) for c in np.asarray(img.resize((1, 1))).reshape(3)))
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
    return ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.2))


def cached_trunk_features(image_model, images, keys, views: int, seed: int, cache_dir=None,
                          progress=None) -> np.ndarray:
    """The frozen trunk's feature maps ``(n, views, h, w, c)``; view 0 is the photo itself.

    Every model trained here shares that trunk (ImageNet blocks 0..FIRST_TOP_BLOCK-1), so
    with ``cache_dir`` and a key per image (its content fingerprint) the maps are kept on
    disk (float16) and a retrain only runs new photos through it.
    """
    from ml.image_model import FIRST_TOP_BLOCK, to_square

    runner = trunk_runner(image_model)
    out = None
    folder = Path(cache_dir) / f"trunk{FIRST_TOP_BLOCK}-s{image_model.image_size}-v{views}-seed{seed}" \
        if cache_dir else None
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
    for i, (img, key) in enumerate(zip(images, keys, strict=True)):
        path = folder / f"{key}.npy" if folder and key else None
        if path and path.exists():
            maps = np.load(path)
        else:
            rng = np.random.default_rng([seed, int(hashlib.sha256(str(key or i).encode()).hexdigest()[:8], 16)])
            batch = [img() if callable(img) else img]
            batch += [augment(batch[0], rng) for _ in range(views - 1)]
            maps = runner(np.stack([to_square(im, image_model.image_size) for im in batch])).astype(np.float16)
            if path:
                np.save(path, maps)
        if out is None:
            out = np.zeros((len(images), *maps.shape), np.float32)
        out[i] = maps
        if progress:
            progress(1)
    return out if out is not None else np.zeros((0, views, 1, 1, 1), np.float32)


def embed_views(image_model, trunk: np.ndarray) -> np.ndarray:
    """``(n, views, 1280)`` embeddings of cached trunk maps ``(n, views, h, w, c)`` through the model's top."""
    from ml.efficientnet_lite import EMBED_DIM

    n, views = trunk.shape[:2]
    if not n:
        return np.zeros((0, views, EMBED_DIM), np.float32)
    return image_model.embed_trunk(trunk.reshape(n * views, *trunk.shape[2:])).reshape(n, views, EMBED_DIM)


def _head_model(n_classes: int, dropout: float = 0.5):
    from ml.efficientnet_lite import EMBED_DIM
    from ml.tf_setup import keras

    inp = keras.Input((EMBED_DIM,))
    x = keras.layers.UnitNormalization()(inp)
    x = keras.layers.Rescaling(30.0)(x)
    x = keras.layers.Dropout(dropout)(x)
    out = keras.layers.Dense(n_classes, activation="softmax", name="head",
                             kernel_regularizer=keras.regularizers.L2(1e-4))(x)
    return keras.Model(inp, out)


def fit_temperature(probs: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the validation negative log-likelihood of softmax(logits / T)."""
    logits = np.log(np.clip(probs, 1e-12, 1.0))
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.05), np.log(20.0), 200)):
        z = logits / t
        z = z - z.max(1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def train_head(attr: str, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
               epochs: int, seed: int, verbose: int = 0) -> tuple[list[np.ndarray], dict]:
    """One calibrated head: its Dense weights (temperature folded in) and a report."""
    from ml.tf_setup import keras, seed_everything

    n = len(vocab.ATTRIBUTES[attr])
    seed_everything(seed)
    model = _head_model(n)
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"])
    weights = class_weights(y_train, n)[y_train]
    has_val = len(y_val) > 0
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss" if has_val else "loss", patience=6,
                                               restore_best_weights=True)]
    hist = model.fit(x_train, y_train, sample_weight=weights, epochs=epochs, batch_size=64, shuffle=True,
                     validation_data=(x_val, y_val) if has_val else None, callbacks=callbacks, verbose=verbose)
    kernel, bias = model.get_layer("head").get_weights()
    report = {"trained": True, "n_train": int(len(y_train)), "n_val": int(len(y_val)),
              "epochs_run": len(hist.history["loss"])}
    if len(y_val) >= 5:
        probs = np.asarray(model.predict(x_val, verbose=0))
        t = fit_temperature(probs, y_val)
        report["val_accuracy"] = round(float((probs.argmax(1) == y_val).mean()), 4)
    else:
        t = 1.0
        report["calibrated"] = False
    report["temperature"] = round(t, 4)
    # softmax((Wx + b) / T) == softmax((W/T) x + b/T): calibration needs no change at inference.
    return [kernel / t, bias / t], report


def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * fraction)) if n >= 5 else 0
    return order[n_val:], order[:n_val]


VAL_FRACTION = 0.2


def calibrate(image_model, feats_val: np.ndarray, y_val: dict[str, np.ndarray], report: dict) -> None:
    """Fit each listed head's temperature on validation embeddings and fold it into the head."""
    probs = image_model.heads(np.asarray(feats_val, np.float32), training=False)
    for attr, y in y_val.items():
        known = y >= 0
        if known.sum() < 5:
            continue
        t = fit_temperature(np.asarray(probs[attr])[known], y[known])
        layer = image_model.heads.get_layer(attr)
        layer.set_weights([w / t for w in layer.get_weights()])
        report[attr]["temperature"] = round(t, 4)
        report[attr]["val_accuracy"] = round(float((np.asarray(probs[attr])[known].argmax(1) == y[known]).mean()), 4)


def train_heads(image_model, base_heads, feats: np.ndarray, labels: list[dict], epochs: int = 80,
                val_fraction: float = VAL_FRACTION, seed: int = 0, min_labels: int = MIN_LABELS, log=print) -> dict:
    """Replace ``image_model.heads`` with heads trained on ``feats`` (n, views, d); returns a report.

    ``labels[i][attr]`` is a vocabulary value or None (unknown); unknown labels are left
    out of that attribute's training only.
    """
    from ml.image_model import _build_heads

    heads = _build_heads()
    train_idx, val_idx = _split(len(labels), val_fraction, seed)
    report = {}
    for attr in vocab.ATTRIBUTE_NAMES:
        known = np.array([labels[i].get(attr) in vocab.ATTRIBUTES[attr] for i in range(len(labels))])
        y_all = np.array([vocab.index_of(attr, lab[attr]) if k else -1 for lab, k in zip(labels, known, strict=True)])
        tr, va = train_idx[known[train_idx]], val_idx[known[val_idx]]
        if len(set(y_all[known])) < MIN_CLASSES or known.sum() < min_labels or len(tr) < 2:
            if base_heads is not None:
                heads.get_layer(attr).set_weights(base_heads.get_layer(attr).get_weights())
            report[attr] = {"trained": False, "n_labelled": int(known.sum()),
                            "reason": f"needs {min_labels} labels with two values or more; base head kept"}
            log(f"  {attr:<9} not trained ({int(known.sum())} labels)")
            continue
        views = feats.shape[1]
        x_tr = feats[tr].reshape(-1, feats.shape[2])
        y_tr = np.repeat(y_all[tr], views)
        weights, report[attr] = train_head(attr, x_tr, y_tr, feats[va, 0], y_all[va], epochs, seed)
        heads.get_layer(attr).set_weights(weights)
        report[attr]["values_seen"] = sorted({labels[i][attr] for i in np.flatnonzero(known)})
        log(f"  {attr:<9} trained on {len(tr)} photos, val acc {report[attr].get('val_accuracy', '-')}, "
            f"T={report[attr]['temperature']}")
    image_model.heads = heads
    return report


def templatise(description: str, attributes: dict[str, str]) -> str:
    """A seller's description as a slot template: its piece, metal, stone, style, colour and finish words
    become slots, so the describer writes a corrected value where the seller wrote theirs."""
    from ml.description_templates import slot_fills

    text, fills = description, slot_fills(attributes)
    for slot in ("noun", "cat", "metal", "gem", "style", "colour", "finish"):  # longest phrases first
        value = fills.get(slot)
        if value and value != "piece":
            text = re.sub(rf"(?<![\w{{-]){re.escape(value)}(?![\w}}-])", "{" + slot + "}", text, flags=re.IGNORECASE)
    return text


def length_of(description: str) -> str:
    sentences = len([s for s in re.split(r"[.!?]+", description) if s.strip()])
    return "short" if sentences <= 1 else "medium" if sentences <= 3 else "long"


def train_text(base_text, feats0: np.ndarray, full_labels: list[dict], descriptions: list[str | None],
               tones: list[str | None], min_texts: int, epochs: int, seed: int, log=print):
    """A describer trained on the catalogue's descriptions (mixed with starter templates for
    variety), or the base describer when there are fewer than ``min_texts``."""
    from ml.description_templates import describe
    from ml.text_model import DescriptionModel
    from ml.tf_setup import keras

    rows = [i for i, d in enumerate(descriptions) if d and d.strip()]
    if len(rows) < min_texts:
        log(f"  describer kept from the base bundle ({len(rows)} descriptions, need {min_texts})")
        return base_text, {"trained": False, "n_descriptions": len(rows)}
    rng = np.random.default_rng(seed)
    idx, attrs, tone_l, len_l, texts = [], [], [], [], []
    for i in rows:
        tone = tones[i] if tones[i] in vocab.TONES else "elegant"
        idx.append(i), attrs.append(full_labels[i]), tone_l.append(tone)
        len_l.append(length_of(descriptions[i])), texts.append(templatise(descriptions[i], full_labels[i]))
        t2, l2 = str(rng.choice(vocab.TONES)), str(rng.choice(vocab.LENGTHS))
        idx.append(i), attrs.append(full_labels[i]), tone_l.append(t2), len_l.append(l2)
        texts.append(describe(full_labels[i], t2, l2, rng))
    model = DescriptionModel.from_corpus(texts, vocab_size=2000, units=base_text.units)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    metrics = model.fit(feats0[idx], attrs, tone_l, len_l, texts, epochs=epochs, batch_size=64, seed=seed,
                        callbacks=[stop] if len(texts) >= 20 else None)
    log(f"  describer trained on {len(rows)} descriptions: val token accuracy {metrics['val_token_accuracy']:.3f}")
    return model, {"trained": True, "n_descriptions": len(rows), **metrics}


def train_bundle(base_bundle, out, images, keys, labels, descriptions=None, tones=None, seed: int = 0,
                 head_epochs: int = 80, text_epochs: int = 6, min_texts: int = 50, min_labels: int = MIN_LABELS,
                 feature_cache=None, finetune: bool = True,
                 extra_meta=None, log=print, progress=None):
    """Train on ``images`` (PIL images or callables returning one) and save a bundle in ``out``
    (``out=None``: not saved, for a caller that adds to ``meta`` and saves once itself).

    ``base_bundle`` (a folder or a loaded ListingGenerator; left unchanged) supplies the
    heads of attributes without enough labels and, without enough descriptions, the describer.

    Returns the :class:`ml.listing.ListingGenerator`; ``meta["metrics"]`` holds the report.
    """
    from ml.image_model import ImageAttributeModel
    from ml.listing import ListingGenerator
    from ml.tf_setup import seed_everything

    started = time.time()
    seed_everything(seed)
    base = base_bundle if isinstance(base_bundle, ListingGenerator) else ListingGenerator.load(base_bundle)
    # Every version starts from the ImageNet backbone; the base supplies untrained heads and the describer.
    image_model = ImageAttributeModel(base.image_model.image_size, base.image_model.cache_dir)
    log(f"trunk features for {len(images)} photos x {AUG_VIEWS} views")
    trunk = cached_trunk_features(image_model, images, keys, AUG_VIEWS, seed, feature_cache, progress)
    feats = embed_views(image_model, trunk)
    log("attribute heads")
    report = train_heads(image_model, base.image_model.heads, feats, labels, epochs=head_epochs, seed=seed,
                         min_labels=min_labels, log=log)
    trained = {a: report[a]["temperature"] for a in vocab.ATTRIBUTE_NAMES if report[a]["trained"]}
    if finetune:
        log(f"fine-tuning the backbone's top blocks with the {', '.join(trained) or 'no'} heads")
        train_idx, val_idx = _split(len(labels), VAL_FRACTION, seed)
        tuned = fine_tune(image_model, trunk, feats, labels, trained, train_idx, val_idx, seed, log)
        if tuned["kept"]:
            feats = embed_views(image_model, trunk)
            calibrate(image_model, feats[val_idx, 0], label_indices(labels, trained, val_idx), report)
        log("  tuned top kept" if tuned["kept"] else f"  tuned top not kept: {tuned['reason']}")
    else:
        tuned = {"kept": False, "reason": "switched off"}
    # Unknown labels are filled with the new heads' predictions so the describer has full attributes.
    preds = image_model.predict_features(feats[:, 0])
    full = [{a: (lab.get(a) if lab.get(a) in vocab.ATTRIBUTES[a] else p[a]["value"]) for a in vocab.ATTRIBUTE_NAMES}
            for lab, p in zip(labels, preds, strict=True)]
    n = len(images)
    text_model, text_report = train_text(base.text_model, feats[:, 0], full, descriptions or [None] * n,
                                         tones or [None] * n, min_texts, text_epochs, seed, log)
    created = datetime.now(UTC)
    meta = {"version": f"catalog-s{seed}-{created:%Y%m%d%H%M%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "base_version": base.model_version,
            "config": {"seed": seed, "head_epochs": head_epochs, "text_epochs": text_epochs,
                       "aug_views": AUG_VIEWS, "image_size": image_model.image_size, "finetune": finetune},
            "metrics": {"heads": report, "finetune": tuned, "text": text_report, "n_photos": n},
            "timings": {"total_s": round(time.time() - started, 1)},
            **(extra_meta or {})}
    generator = ListingGenerator(image_model, text_model, meta)
    if out is not None:
        generator.save(out)
    return generator
