"""Train the starter models on the rendered catalogue and write a listing bundle.

    python -m ml.train_starter --out models/starter --renders .cache/renders/v2   # full, on renders
    python -m ml.train_starter --out /tmp/old                  # full, on Pillow drawings
    python -m ml.train_starter --out /tmp/tiny --tiny          # seconds, on drawings; used by the tests

With ``--renders`` the starter trains on path-traced renders (``ml/render``): whatever of
the catalogue is missing from that folder is rendered first (resumable; about 25 minutes of one core).
Tiny mode keeps the Pillow drawings: the tests need a bundle in seconds and no renderer.
Backbone features are computed once and reused by both models.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import numpy as np
from PIL import Image
from tqdm import tqdm

from ml import vocab
from ml.description_templates import describe
from ml.features import TEST_VIEWS, TRAIN_VIEWS, cached_views, select_parts
from ml.render.dataset import CROP_SCALES, mask_path, piece_crops, training_items
from ml.starter_catalog import generate_catalog
from ml.starter_heads import PRIORS, train_starter_heads
from ml.taxonomy import DEFAULT

MODES = {  # images, render px, backbone px, head epochs, text epochs, texts per image, LSTM units
    "full": dict(n_images=1500, render_size=192, image_size=192, head_epochs=60, text_epochs=8,
                 texts_per_image=2, units=256),
    "tiny": dict(n_images=36, render_size=64, image_size=96, head_epochs=5, text_epochs=1,
                 texts_per_image=2, units=64),
}


# The rendered catalogue, in full mode: renders to use, their size and samples per pixel, how many
# drawings are mixed in (they lifted metal on real photos), the heads' prior (ml/starter_heads.py) and
# the feature parts they read beside the embedding (ml/features.py: the colour of the brightest pixels);
# docs/models.md has the measurements.
RENDERS = {"n_images": 1600, "render_size": 160, "spp": 8, "drawings": 600, "prior": "listings",
           "extras": ["colour"]}
FEATURE_CACHE = ".cache/starter-features"  # embeddings of each render's views, reused by the next training


def _key(image) -> str:
    """A picture's content fingerprint (names its cached embeddings)."""
    return hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()[:20]


def _crops(image, path) -> list:
    """Crops around the piece: from a render's mask, or (drawings, centred) from the middle."""
    if path is not None and mask_path(path).exists():
        with Image.open(mask_path(path)) as m:
            return piece_crops(image, m)
    w, h = image.size
    return [image.crop((int(w * (1 - f) / 2), int(h * (1 - f) / 2), int(w * (1 + f) / 2), int(h * (1 + f) / 2)))
            for f in (0.75, 0.55)][:len(CROP_SCALES)]


def rendered_heads(image_model, images, labels, kinds, paths, seed: int, crops: bool = False,
                   calibrate: str = "kinds", prior: str = "balanced", feature_cache=FEATURE_CACHE,
                   log=print) -> dict:
    """Numpy heads on every training view of each picture (ml/features.py), plus (``crops``) two
    crops around the piece and their mirror images; flags calibrated across kinds of scene
    (ml/starter_heads.py). Returns the heads' report and each picture's plain embedding."""
    keys = [_key(im) for im in images]
    views = cached_views(image_model, images, keys, TRAIN_VIEWS, feature_cache, log)
    test_emb = views[:, [TRAIN_VIEWS.index(v) for v in TEST_VIEWS]].mean(1)
    if crops:
        pieces = [_crops(im, p) for im, p in zip(images, paths, strict=True)]
        n_crops = len(pieces[0])
        flat = [c for cs in pieces for c in cs]
        crop_keys = [f"{k}-piece{j}" for k in keys for j in range(n_crops)]
        extra = cached_views(image_model, flat, crop_keys, ("plain", "flip"), feature_cache, log)
        views = np.concatenate([views, extra.reshape(len(images), n_crops * 2, -1)], 1)
    plain = select_parts(views[:, TRAIN_VIEWS.index("plain")], have=image_model.extras)  # the describer's input
    fold_views = [TRAIN_VIEWS.index("plain"), TRAIN_VIEWS.index("flip"), *range(len(TRAIN_VIEWS), views.shape[1], 2)]
    return train_starter_heads(image_model, views, test_emb, labels, kinds, calibrate=calibrate, seed=seed,
                               fold_views=fold_views, prior=prior, log=log), plain


def _catalogue(cfg: dict, seed: int, renders, progress: bool):
    """``(images, labels, tones, lengths, templates, kinds, paths)``: drawings, or the renders in
    ``renders`` (``kinds``: each picture's kind of scene; ``paths``: a render's file, else None)."""
    if renders is None:
        items = generate_catalog(cfg["n_images"], seed=seed, image_size=cfg["render_size"])
        return ([it.image for it in items], [it.labels for it in items], [it.tone for it in items],
                [it.length for it in items], [it.template for it in items], ["drawing"] * len(items),
                [None] * len(items))

    # Mitsuba renders in its own process: it and TensorFlow do not share one cleanly.
    subprocess.run([sys.executable, "-m", "ml.render.catalog", "--out", str(renders), "--count", str(cfg["n_images"]),
                    "--seed", str(seed), "--size", str(cfg["render_size"]), "--spp", str(cfg["spp"]),
                    "--threads", str(os.cpu_count() or 1)] + ([] if progress else ["--quiet"]), check=True)
    images, labels, scene, paths = training_items(renders, cfg["n_images"], lookalikes=cfg.get("lookalikes", False))
    kinds = [lab["shot"] for lab in scene]
    rng = np.random.default_rng(seed)
    tones = [str(rng.choice(vocab.TONES)) for _ in labels]
    lengths = [str(rng.choice(vocab.LENGTHS)) for _ in labels]
    templates = [describe(lab, t, n, rng) for lab, t, n in zip(labels, tones, lengths, strict=True)]
    if cfg.get("drawings"):  # mixed in where they measurably help (docs/models.md)
        items = generate_catalog(cfg["drawings"], seed=seed, image_size=cfg["image_size"])
        images += [it.image for it in items]
        labels += [it.labels for it in items]
        tones += [it.tone for it in items]
        lengths += [it.length for it in items]
        templates += [it.template for it in items]
        kinds += ["drawing"] * len(items)
        paths += [None] * len(items)
    order = rng.permutation(len(images))  # renders come in category order
    return tuple([x[i] for i in order] for x in (images, labels, tones, lengths, templates, kinds, paths))


def train(out: str, tiny: bool = False, seed: int = 0, cache_dir=None, progress: bool = True,
          renders=None, n_images: int | None = None, crops: bool = False, calibrate: str = "kinds",
          drawings: int | None = None, lookalikes: bool = False, prior: str | None = None,
          extras: tuple | None = None) -> dict:
    """Build the catalogue, train both models, save the bundle in ``out``; returns meta."""
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)
    from ml.text_model import DescriptionModel  # noqa: PLC0415  (lazy: loads TensorFlow)

    mode = "tiny" if tiny else "full"
    cfg = dict(MODES[mode], **(RENDERS if renders and not tiny else {}))
    if n_images:
        cfg["n_images"] = n_images
    if drawings is not None:
        cfg["drawings"] = drawings
    cfg["lookalikes"] = lookalikes
    if prior is not None:
        cfg["prior"] = prior
    if extras is not None:
        cfg["extras"] = list(extras)
    started, timings = time.time(), {}
    bar = tqdm(total=5, desc=f"starter-{mode}", disable=not progress, unit="step")

    bar.set_postfix_str("rendering catalogue" if renders else "drawing catalogue")
    images, labels, tones, lengths, templates, kinds, paths = _catalogue(cfg, seed, None if tiny else renders,
                                                                         progress)
    rendered = bool(renders) and not tiny
    timings["catalogue_s"] = round(time.time() - started, 1)
    bar.update()

    bar.set_postfix_str("backbone features")
    t = time.time()
    taxonomy = DEFAULT.subset({a for lab in labels for a in lab})  # the attributes the catalogue labels
    if rendered:
        image_model = ImageAttributeModel(cfg["image_size"], cache_dir=cache_dir, taxonomy=taxonomy,
                                          test_views=TEST_VIEWS, extras=cfg.get("extras", ()))
        bar.set_postfix_str("views and attribute heads")
        heads, feats = rendered_heads(image_model, images, labels, kinds, paths, seed, crops, calibrate,
                                      cfg.get("prior", "balanced"),
                                      log=(lambda m: None) if not progress else tqdm.write)
        val_acc = {a: r.get("held_out_accuracy") for a, r in heads.items()}
        n_val, metrics_extra = None, {"heads": heads, "crops": crops, "calibrated_on": calibrate}
        timings["features_and_heads_s"] = round(time.time() - t, 1)
        bar.update(2)
    else:
        # Drawings: no render masks or kinds of scene; these bundles (tests, the former starter) are
        # uncalibrated, so every value they predict is flagged for checking.
        image_model = ImageAttributeModel(cfg["image_size"], cache_dir=cache_dir, taxonomy=taxonomy)
        feats = image_model.embed(images)
        timings["features_s"] = round(time.time() - t, 1)
        bar.update()

        bar.set_postfix_str("attribute heads")
        t = time.time()
        n_val = max(len(labels) // 6, 6)
        val_acc = image_model.fit(feats[n_val:], labels[n_val:], epochs=cfg["head_epochs"], seed=seed,
                                  val_features=feats[:n_val], val_labels=labels[:n_val])
        metrics_extra = {}
        timings["heads_s"] = round(time.time() - t, 1)
        bar.update()

    bar.set_postfix_str("description model")
    t = time.time()
    rng = np.random.default_rng(seed + 1)
    rows = []  # (feature row, labels, tone, length, template): the catalogue's own text plus rewrites
    for i, lab in enumerate(labels):
        if None in lab.values():  # a value outside the vocabulary: the describer is conditioned on all of them
            continue
        rows.append((i, lab, tones[i], lengths[i], templates[i]))
        for _ in range(cfg["texts_per_image"] - 1):
            tone, length = str(rng.choice(vocab.TONES)), str(rng.choice(vocab.LENGTHS))
            rows.append((i, lab, tone, length, describe(lab, tone, length, rng)))
    idx, attrs, tones, lengths, templates = map(list, zip(*rows, strict=True))
    text_model = DescriptionModel.from_corpus(templates, vocab_size=1000, units=cfg["units"])
    text_metrics = text_model.fit(feats[idx], attrs, tones, lengths, templates,
                                  epochs=cfg["text_epochs"], batch_size=128, seed=seed)
    timings["text_s"] = round(time.time() - t, 1)
    bar.update()

    bar.set_postfix_str("saving bundle")
    created = datetime.now(UTC)
    meta = {"version": f"starter-{mode}-s{seed}-{created:%Y%m%d%H%M%S}",
            "created_at": created.isoformat(timespec="seconds"),
            "config": {"mode": mode, "seed": seed, "catalogue": "renders" if renders and not tiny else "drawings",
                       "n_trained": len(labels), **cfg},
            "metrics": {"image_val_accuracy": val_acc, "image_val_size": n_val, "text": text_metrics,
                        **metrics_extra},
            "timings": timings}
    generator = ListingGenerator(image_model, text_model, meta)
    generator.save(out)
    timings["total_s"] = round(time.time() - started, 1)
    generator.save(out)  # once more so meta.json carries the total time
    bar.update()
    bar.close()
    return generator.meta


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="bundle directory to write")
    ap.add_argument("--tiny", action="store_true", help="a few images and one epoch (tests)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=None, help="where converted backbone weights are cached")
    ap.add_argument("--renders", default=None, help="train on the rendered catalogue in this folder (made if missing)")
    ap.add_argument("--n-images", type=int, default=None, help="renders to use (default: the full mode's)")
    ap.add_argument("--crops", action="store_true",
                    help="renders: also train on crops around the piece (measured: no better, docs/models.md)")
    ap.add_argument("--calibrate", choices=("kinds", "random"), default="kinds",
                    help="renders: flags calibrated leaving one kind of scene out (default) or on a random fifth")
    ap.add_argument("--drawings", type=int, default=None, help="renders: drawings mixed in (default 600)")
    ap.add_argument("--lookalikes", action="store_true",
                    help="renders: learn vermeil and plating as gold, sterling as silver (what a photo shows)")
    ap.add_argument("--prior", choices=PRIORS, default=None,
                    help="renders: heads predict at balanced or the catalogue's own value frequencies, or "
                         "(listings) category at a marketplace's (ml/starter_heads.py; default: the full mode's)")
    ap.add_argument("--extras", default=None,
                    help="renders: feature parts the heads read beside the embedding, comma-separated "
                         "(ml/features.py EXTRAS, e.g. colour)")
    args = ap.parse_args(argv)
    meta = train(args.out, tiny=args.tiny, seed=args.seed, cache_dir=args.cache_dir, renders=args.renders,
                 n_images=args.n_images, crops=args.crops, calibrate=args.calibrate, drawings=args.drawings,
                 lookalikes=args.lookalikes, prior=args.prior,
                 extras=None if args.extras is None else tuple(e for e in args.extras.split(",") if e))
    print(f"bundle {meta['version']} written to {args.out} in {meta['timings']['total_s']}s")
    print("validation accuracy per attribute:")
    for attr, acc in meta["metrics"]["image_val_accuracy"].items():
        print(f"  {attr:<11} {acc if acc is None else round(acc, 3)}")
    print(f"text val token accuracy: {meta['metrics']['text']['val_token_accuracy']:.3f}")


if __name__ == "__main__":
    main()
