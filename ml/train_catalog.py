"""Train a listing bundle on a marketplace's own labelled photos (and descriptions).

Starts from a base bundle (the starter or the promoted version) and the ImageNet
backbone, with the marketplace's taxonomy (the base's, widened by the values its labels
use). Each attribute head is the recipe ``ml.crossval`` measures against a linear probe
(ml/heads.py :func:`~ml.heads.train_attribute`): fitted on cached embeddings of several
views of all the labelled photos, with class weights; its temperature and flag threshold
(ml/conformal.py) are calibrated on cross-fitted scores, each photo scored by one of five
heads that never trained on it. Optionally the backbone's top blocks are fine-tuned
(ml/finetune.py) and kept if that does better on 20 % of the photos held out from it; a
kept top is recalibrated on those photos alone. Attributes with too few labels keep the base
bundle's head and are marked untrained (always flagged). The describer is retrained when
the catalogue has enough descriptions.
"""
from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ml import conformal, recipe, vocab, zoom
from ml.description_templates import describe, slot_fills
from ml.features import TRAIN_VIEWS, augment, cached_views, feature_dims, head_input
from ml.finetune import fine_tune, trunk_runner
from ml.heads import fit_temperature, group_folds, train_attribute
from ml.taxonomy import DEFAULT

AUG_VIEWS = 4  # original + 3 augmented views per training photo
MIN_CLASSES = 2  # an attribute needs at least two labelled values to learn anything
MIN_LABELS = 20  # ... and this many labelled photos, or its head would learn the few it saw


def cached_trunk_features(image_model, images, keys, views: int, seed: int, cache_dir=None,
                          progress=None) -> np.ndarray:
    """The frozen trunk's feature maps ``(n, views, h, w, c)``; view 0 is the photo itself.

    Every model trained here shares that trunk (ImageNet blocks 0..FIRST_TOP_BLOCK-1), so
    with ``cache_dir`` and a key per image (its content fingerprint) the maps are kept on
    disk (float16) and a retrain only runs new photos through it.
    """
    from ml.image_model import FIRST_TOP_BLOCK, to_square  # noqa: PLC0415  (lazy: loads TensorFlow)

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
    from ml.efficientnet_lite import EMBED_DIM  # noqa: PLC0415  (lazy: loads TensorFlow)

    n, views = trunk.shape[:2]
    if not n:
        return np.zeros((0, views, EMBED_DIM), np.float32)
    return image_model.embed_trunk(trunk.reshape(n * views, *trunk.shape[2:])).reshape(n, views, EMBED_DIM)




def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * fraction)) if n >= 5 else 0
    return order[n_val:], order[:n_val]


VAL_FRACTION = 0.2  # photos the backbone fine-tuning holds out to decide whether to keep its top
CROSS_FIT_FOLDS = 5  # heads fitted to score the photos they did not see, for the flags' calibration


def _groups(groups, keys):
    """What cross-fitting keeps whole: ``groups`` if given, else the photos' keys when every
    photo has one, else None (each photo its own group)."""
    if groups is not None:
        return groups
    return keys if keys is not None and all(keys) else None


def label_ids(taxonomy, labels: list[dict], attr: str) -> np.ndarray:
    """Class id of each photo's ``attr`` label, -1 where it is unknown."""
    return np.array([taxonomy.index_of(attr, lab[attr]) if taxonomy.knows(attr, lab.get(attr)) else -1
                     for lab in labels], np.int64)


def calibrate(image_model, test_emb_val: np.ndarray, y_val: dict[str, np.ndarray], report: dict,
              alpha: float = conformal.ALPHA, delta: float = conformal.DELTA) -> None:
    """Refit each listed head's temperature and flag threshold on held-out embeddings (test views)."""
    probs = image_model.probabilities(test_emb_val)
    for attr, y in y_val.items():
        known = y >= 0
        if known.sum() < 5:
            continue
        t = fit_temperature(probs[attr][known], y[known])
        layer = image_model.heads.get_layer(attr)
        layer.set_weights([w / t for w in layer.get_weights()])
        p = image_model.probabilities(test_emb_val[known])[attr]
        cal = conformal.threshold(p.max(1), p.argmax(1) == y[known], alpha, delta)
        cal["known_values"] = image_model.calibration.get(attr, {}).get("known_values", [])
        image_model.calibration[attr] = cal
        report[attr]["temperature"] = round(t, 4)
        report[attr]["val_accuracy"] = round(float((p.argmax(1) == y[known]).mean()), 4)
        report[attr]["calibration"] = {k: v for k, v in cal.items() if k != "known_values"}


def widened(weights: list[np.ndarray], have=(), want=()) -> list[np.ndarray]:
    """A base head's ``[kernel, bias]`` for heads that read the ``want`` extras: the base's rows
    for the embedding, zero for every new part, scaled so its logits stay as they were.

    Only the embedding's rows are kept (a base that read other extras loses them). The heads
    unit-normalise their input, whose P parts are each of length 1 (ml/features.py
    :func:`~ml.features.head_input`), so the embedding's share of it is 1/sqrt(P)."""
    kernel, bias = (np.asarray(w) for w in weights)
    have_dims, want_dims = feature_dims(have), feature_dims(want)
    if have_dims == want_dims:
        return [kernel, bias]
    rows = kernel[:have_dims[0]] * np.sqrt(len(want_dims) / len(have_dims))
    grown = np.zeros((sum(want_dims), kernel.shape[1]), kernel.dtype)
    grown[:have_dims[0]] = rows
    return [grown, bias]


def train_heads(image_model, base_image_model, views: np.ndarray, test_emb: np.ndarray, labels: list[dict],
                groups=None, seed: int = 0, min_labels: int = MIN_LABELS, alpha: float = conformal.ALPHA,
                delta: float = conformal.DELTA, min_value_labels: int = conformal.MIN_VALUE_LABELS,
                folds: int = CROSS_FIT_FOLDS, log=print) -> dict:
    """Replace ``image_model.heads`` with heads trained on ``views`` ``(n, views, d)``; returns a report.

    ``labels[i][attr]`` is a value of ``image_model.taxonomy`` or None (unknown); unknown
    labels are left out of that attribute's training only. Each head is fitted on all its
    labelled photos; its temperature and flag threshold come from cross-fitting
    (ml/heads.py :func:`~ml.heads.train_attribute`): ``folds`` heads, split by ``groups``
    (default: each photo its own group), score the ``test_emb`` ``(n, d)`` test-view
    embeddings of the photos they did not see.
    """
    from ml.image_model import _build_heads  # noqa: PLC0415  (lazy: loads TensorFlow)

    taxonomy = image_model.taxonomy
    heads = _build_heads(taxonomy, width=image_model.feature_width)
    x_views, x_test = head_input(views, image_model.extras), head_input(test_emb, image_model.extras)
    groups = np.arange(len(labels)) if groups is None else np.asarray([str(g) for g in groups])
    report, calibration, inherited = {}, {}, set()
    base_tax = base_image_model.taxonomy if base_image_model is not None else None
    for attr in taxonomy.names:
        y_all = label_ids(taxonomy, labels, attr)
        known = y_all >= 0
        tr = np.flatnonzero(known)
        if len(set(y_all[known])) < MIN_CLASSES or known.sum() < min_labels or len(tr) < 2:
            kept = base_tax is not None and base_tax.values(attr) == taxonomy.values(attr)
            layer = heads.get_layer(attr)
            if kept:
                if attr in base_image_model.trained_heads:
                    inherited.add(attr)
                layer.set_weights(widened(base_image_model.heads.get_layer(attr).get_weights(),
                                          base_image_model.extras, image_model.extras))
                if attr in base_image_model.calibration:
                    calibration[attr] = base_image_model.calibration[attr]
            else:  # the base never had these values: a flat head, always flagged
                layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
            report[attr] = {"trained": False, "n_labelled": int(known.sum()),
                            "reason": f"needs {min_labels} labels with two values or more; "
                                      + ("base head kept" if kept else "no head (always flagged)")}
            log(f"  {attr:<9} not trained ({int(known.sum())} labels)")
            continue
        head = train_attribute(x_views[tr], y_all[tr], x_test[tr], groups[tr], taxonomy.values(attr),
                               alpha, delta, min_value_labels, folds, seed)
        heads.get_layer(attr).set_weights([head["w"], head["b"]])
        calibration[attr] = head["calibration"]
        report[attr] = {"trained": True, "n_train": int(len(tr)), "temperature": head["temperature"],
                        "oof_accuracy": head["oof_accuracy"],
                        "calibration": {k: v for k, v in head["calibration"].items() if k != "known_values"},
                        "values_seen": sorted({labels[i][attr] for i in tr}),
                        "values_with_enough_labels": head["calibration"]["known_values"]}
        log(f"  {attr:<9} trained on {len(tr)} photos, out-of-fold acc {head['oof_accuracy']}, "
            f"T={head['temperature']}, flag below {head['calibration']['threshold']} "
            f"(cross-fit coverage {head['calibration'].get('cal_coverage')})")
    image_model.heads = heads
    image_model.calibration = calibration
    # Trained here, or kept from a base that had trained it on the marketplace's photos.
    image_model.trained_heads = tuple(a for a in taxonomy.names if report[a]["trained"] or a in inherited)
    return report


def templatise(description: str, attributes: dict[str, str]) -> str:
    """A seller's description as a slot template: its piece, metal, stone, style, colour and finish words
    become slots, so the describer writes a corrected value where the seller wrote theirs."""
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
    from ml.text_model import DescriptionModel  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tf_setup import keras  # noqa: PLC0415  (lazy: loads TensorFlow)

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


def catalogue_taxonomy(base_taxonomy, labels: list[dict], taxonomy=None):
    """The taxonomy a version trains with: the one given (the marketplace's) or the default,
    widened by the base's values and by every value the labels use, restricted to the
    attributes the base predicts or the labels name. A type new to it (or of a new category)
    becomes valid for the categories the labels give it with; known pairs keep their rules."""
    tax = (taxonomy or DEFAULT).extended({a: list(base_taxonomy.values(a)) for a in base_taxonomy.names},
                                         types={c: list(t) for c, t in base_taxonomy.types.items()})
    used = {a for lab in labels for a, v in lab.items() if v}
    new = {a: sorted({lab[a] for lab in labels if lab.get(a)} - set(tax.values(a))) for a in used}
    types: dict[str, set] = {}
    for lab in labels:
        c, t = lab.get("category"), lab.get("type")
        if c and t and not (tax.knows("category", c) and tax.knows("type", t)):
            types.setdefault(c, set()).add(t)
    tax = tax.extended({a: v for a, v in new.items() if v}, types={c: sorted(t) for c, t in types.items()})
    return tax.subset(set(base_taxonomy.names) | used)


def zoom_locators(global_model, images, keys, labels, taxonomy, groups, seed: int = 0,
                  min_labels: int = MIN_LABELS, feature_cache=None, log=print) -> tuple[dict | None, list]:
    """The category head a version serves with to find the piece (ml/zoom.py), and per photo the
    one that places its training crop: fitted as the shipped heads are, on the global embedding
    of every training view, cross-fitted over ``groups`` (a photo's crop is placed by a head fitted
    on the other folds, as a new photo's is by one that never saw it). None (the feature map's
    own saliency) without enough category labels."""
    y = label_ids(taxonomy, labels, "category")
    known = np.flatnonzero(y >= 0)
    if len(known) < min_labels or len(set(y[known])) < MIN_CLASSES:
        log(f"  piece located without a category head ({len(known)} category labels)")
        return None, [None] * len(labels)
    views = cached_views(global_model, [images[i] for i in known], [keys[i] for i in known], TRAIN_VIEWS,
                         feature_cache)
    folds = group_folds(np.asarray(groups)[known], CROSS_FIT_FOLDS, seed)
    full, per_fold = zoom.fit_locators(views[..., :1280], y[known], len(taxonomy.values("category")), folds)
    locators = [full] * len(labels)  # a photo without a category label: the full head never saw it
    for i, f in zip(known, folds, strict=True):
        locators[i] = per_fold.get(int(f), full)
    log(f"  piece located by a category head on {len(known)} photos ({len(per_fold)} cross-fitted)")
    return full, locators


def train_bundle(base_bundle, out, images, keys, labels, descriptions=None, tones=None, seed: int = 0,
                 head_epochs: int = 80, text_epochs: int = 6, min_texts: int = 50, min_labels: int = MIN_LABELS,
                 feature_cache=None, finetune: bool = False, taxonomy=None, alpha: float = conformal.ALPHA,
                 delta: float = conformal.DELTA, groups=None, extra_meta=None, log=print, progress=None):
    """Train on ``images`` (PIL images or callables returning one) and save a bundle in ``out``
    (``out=None``: not saved, for a caller that adds to ``meta`` and saves once itself).

    ``base_bundle`` (a folder or a loaded ListingGenerator; left unchanged) supplies the
    heads of attributes without enough labels and, without enough descriptions, the describer.
    ``taxonomy`` is the marketplace's (default: ml.taxonomy.DEFAULT), widened by the labels' values.
    ``groups`` (default: ``keys``, the photos' fingerprints) are kept whole within one
    cross-fitting fold, as the pipeline's hold-out keeps each fingerprint on one side.
    ``head_epochs`` is kept for the command line's sake; the numpy heads run a fixed schedule.

    Returns the :class:`ml.listing.ListingGenerator`; ``meta["metrics"]`` holds the report.
    """
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.tf_setup import seed_everything  # noqa: PLC0415  (lazy: loads TensorFlow)

    started = time.time()
    seed_everything(seed)
    base = base_bundle if isinstance(base_bundle, ListingGenerator) else ListingGenerator.load(base_bundle)
    tax = catalogue_taxonomy(base.image_model.taxonomy, labels, taxonomy)
    # Every version starts from the ImageNet backbone with the recipe ml.crossval measures (ml/recipe.py),
    # whatever its base's size; the base supplies untrained heads and the describer.
    def recipe_model(locator=None):
        return ImageAttributeModel(recipe.IMAGE_SIZE, base.image_model.cache_dir, arch=recipe.ARCH, taxonomy=tax,
                                   test_views=recipe.TEST_VIEWS, extras=recipe.EXTRAS, locator=locator)

    zoomed = any(p in recipe.EXTRAS for p in zoom.PARTS)
    locator, locators = None, None
    if zoomed:
        fold_groups = _groups(groups, keys)
        fold_groups = np.arange(len(labels)) if fold_groups is None else [str(g) for g in fold_groups]
        locator, locators = zoom_locators(ImageAttributeModel(recipe.IMAGE_SIZE, base.image_model.cache_dir,
                                                              arch=recipe.ARCH), images, keys, labels, tax,
                                          fold_groups, seed, min_labels, feature_cache, log)
    image_model = recipe_model(locator)
    log(f"embeddings for {len(images)} photos x {len(TRAIN_VIEWS)} views")
    views = zoom.located_features(recipe_model, images, keys, locators, TRAIN_VIEWS, feature_cache) if zoomed \
        else cached_views(image_model, images, keys, TRAIN_VIEWS, feature_cache)
    if progress:
        progress(len(images))
    test_emb = views[:, [TRAIN_VIEWS.index(v) for v in image_model.test_views]].mean(1)
    log("attribute heads")
    report = train_heads(image_model, base.image_model, views, test_emb, labels, groups=_groups(groups, keys),
                         seed=seed, min_labels=min_labels, alpha=alpha, delta=delta, log=log)
    trained = {a: report[a]["temperature"] for a in tax.names if report[a]["trained"]}
    train_idx, val_idx = _split(len(labels), VAL_FRACTION, seed)
    if finetune and image_model.arch == "lite0" and not image_model.extras:
        log(f"fine-tuning the backbone's top blocks with the {', '.join(trained) or 'no'} heads")
        trunk = cached_trunk_features(image_model, images, keys, AUG_VIEWS, seed, feature_cache)
        tuned = fine_tune(image_model, trunk, embed_views(image_model, trunk), labels, trained, train_idx,
                          val_idx, seed, log)
        if tuned["kept"]:
            val_images = [images[i]() if callable(images[i]) else images[i] for i in val_idx]
            test_emb = np.zeros_like(test_emb)
            test_emb[val_idx] = image_model.embed(val_images) if len(val_images) else test_emb[val_idx]
            calibrate(image_model, test_emb[val_idx], {a: label_ids(tax, labels, a)[val_idx] for a in trained},
                      report, alpha, delta)
        log("  tuned top kept" if tuned["kept"] else f"  tuned top not kept: {tuned['reason']}")
    else:
        tuned = {"kept": False, "reason": "switched off" if not finetune else
                 "fine-tuning is for Lite0 bundles whose heads read the embedding alone"}
    # Unknown labels are filled with the new heads' predictions so the describer has full attributes.
    preds = image_model.predict_features(test_emb) if len(test_emb) else []
    full = [{a: (lab.get(a) if tax.knows(a, lab.get(a)) else p[a]["value"]) for a in tax.names}
            for lab, p in zip(labels, preds, strict=False)]
    n = len(images)
    text_model, text_report = train_text(base.text_model, views[:, 0], full, descriptions or [None] * n,
                                         tones or [None] * n, min_texts, text_epochs, seed, log)
    created = datetime.now(UTC)
    meta = {"version": f"catalog-s{seed}-{created:%Y%m%d%H%M%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "base_version": base.model_version,
            "config": {"seed": seed, "text_epochs": text_epochs, "train_views": list(TRAIN_VIEWS),
                       "test_views": list(image_model.test_views), "image_size": image_model.image_size,
                       "arch": image_model.arch, "extras": list(image_model.extras), "finetune": finetune,
                       "alpha": alpha, "delta": delta},
            "metrics": {"heads": report, "finetune": tuned, "text": text_report, "n_photos": n},
            "timings": {"total_s": round(time.time() - started, 1)},
            **(extra_meta or {})}
    generator = ListingGenerator(image_model, text_model, meta)
    if out is not None:
        generator.save(out)
    return generator
