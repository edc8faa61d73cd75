"""Parts 1 and 2: image inference and description generation, serving path against baselines.

1. ms per image at batch 1 and 32: the serving path (EfficientNet-Lite0 through TFLite/XNNPACK,
   ml/tflite_backbone.py) against ``keras.applications.EfficientNetB0(weights=None)`` called
   with ``model.predict`` on the same images, in the same run; also our Lite0 called as a plain
   Keras model, and the attribute accuracy of both paths on held-out drawings.
2. ms per description at batch 1 and 32: ``DescriptionModel.generate`` (compiled decoding,
   grounding, retries) and the step-by-step keras-hub decode it replaced.

    python -m bench.inference [--quick] [--json] [--bundle DIR]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from bench.stats import emit, repeat, summary, target
from ml import recipe
from ml.starter_catalog import generate_catalog

ROOT = Path(__file__).resolve().parent.parent


def default_bundle() -> str:
    return os.environ.get("BENCH_BUNDLE") or os.environ.get("MODEL_DIR") or str(ROOT / "instance/models/current")


def per_item_ms(seconds: list[float], n: int) -> list[float]:
    return [s * 1000 / n for s in seconds]


def image_part(bundle: str, quick: bool) -> dict:
    from ml.image_model import ImageAttributeModel, to_square  # noqa: PLC0415  (lazy: loads TensorFlow; bench.run imports this module)
    from ml.tf_setup import keras  # noqa: PLC0415  (lazy: loads TensorFlow; bench.run imports this module)

    runs32, runs1 = (3, 10) if quick else (7, 30)
    t0 = time.perf_counter()
    fast = ImageAttributeModel.load(Path(bundle) / "image")  # TFLite serving path
    load_s = time.perf_counter() - t0
    size = fast.image_size
    items = generate_catalog(32 if quick else 64, seed=99, image_size=256)
    images = [it.image for it in items]
    x = np.stack([to_square(im, size) for im in images[:32]])
    x224 = np.stack([to_square(im, 224) for im in images[:32]])
    fast._fast.warm_up((1, 4, 8))

    baseline = keras.applications.EfficientNetB0(weights=None)
    plain = fast.backbone  # the same Lite0 as a Keras model
    lite224 = ImageAttributeModel(224)  # the serving path at the baseline's resolution
    lite224._fast.warm_up((1, 4, 8))
    # What a catalogue version trained by `flask ml train` runs per photo (ml/recipe.py): its input
    # size, every test view through the backbone, the extra feature parts; photos as uploaded.
    shipped = ImageAttributeModel(recipe.IMAGE_SIZE, arch=recipe.ARCH, test_views=recipe.TEST_VIEWS,
                                  extras=recipe.EXTRAS)
    shipped._fast.warm_up((1, 4, 8))
    # The look-closer option (ml/zoom.py, `--extras zoom`): the photo, then a crop round the piece.
    zoomed = ImageAttributeModel(recipe.IMAGE_SIZE, arch=recipe.ARCH, test_views=recipe.test_views(("zoom",)),
                                 extras=("zoom",))
    zoomed._fast.warm_up((1, 4, 8))

    t = {
        "serving_b32": repeat(lambda: fast._fast(x), runs32),
        "serving_b1": repeat(lambda: fast._fast(x[:1]), runs1),
        "serving224_b32": repeat(lambda: lite224._fast(x224), runs32),
        "baseline_b32": repeat(lambda: baseline.predict(x224, batch_size=32, verbose=0), runs32),
        "baseline_b1": repeat(lambda: baseline.predict(x224[:1], verbose=0), max(3, runs1 // 2)),
        "keras_lite0_b32": repeat(lambda: plain(x, training=False), max(2, runs32 - 1)),
        "embed_b32": repeat(lambda: fast.embed(images[:32]), runs32),
        "shipped_b32": repeat(lambda: shipped.embed(images[:32]), runs32),
        "zoom_b32": repeat(lambda: zoomed.embed(images[:32]), runs32),
    }
    ratios = [a / b for a, b in zip(t["serving_b32"], t["baseline_b32"], strict=True)]
    ratios224 = [a / b for a, b in zip(t["serving224_b32"], t["baseline_b32"], strict=True)]
    ratios_shipped = [a / b for a, b in zip(t["shipped_b32"], t["baseline_b32"], strict=True)]
    shipped32 = float(np.median(per_item_ms(t["shipped_b32"], 32)))
    zoom32 = float(np.median(per_item_ms(t["zoom_b32"], 32)))
    shipped_what = (f"ImageAttributeModel.embed as `flask ml train` ships it: {recipe.IMAGE_SIZE} px, views "
                    f"{'+'.join(recipe.TEST_VIEWS)}, extras {'+'.join(recipe.EXTRAS) or 'none'}, "
                    "preprocessing included")
    # Accuracy: the float Keras path and the serving path on the same held-out drawings.
    keras_model = ImageAttributeModel.load(Path(bundle) / "image", serving="keras")
    labels = [it.labels for it in items]
    acc_fast = fast.accuracy(fast.embed(images), labels)
    acc_keras = keras_model.accuracy(keras_model.embed(images), labels)
    # Attributes the drawings do not label (accuracy None) have nothing to compare.
    worst_gap = max(abs(acc_fast[a] - acc_keras[a]) for a in acc_fast if acc_fast[a] is not None) * 100
    median_ratio = float(np.median(ratios))
    serving32 = float(np.median(per_item_ms(t["serving_b32"], 32)))
    figures = {
        f"image: serving path b32 ({size}px TFLite), ms/image": {
            **summary(per_item_ms(t["serving_b32"], 32), "ms/image", "TFLite/XNNPACK backbone, 32 images per call"),
            "target": target(serving32, 15.0)},
        f"image: serving path b1 ({size}px), ms/image": summary(
            per_item_ms(t["serving_b1"], 1), "ms/image", "TFLite/XNNPACK backbone, 1 image per call"),
        "image: serving path b32 at 224px, ms/image": summary(
            per_item_ms(t["serving224_b32"], 32), "ms/image", "same serving path at the baseline's 224 px"),
        "image: baseline EfficientNetB0.predict b32, ms/image": summary(
            per_item_ms(t["baseline_b32"], 32), "ms/image",
            "keras.applications.EfficientNetB0(weights=None).predict, 224 px"),
        "image: baseline EfficientNetB0.predict b1, ms/image": summary(
            per_item_ms(t["baseline_b1"], 1), "ms/image", "EfficientNetB0.predict on one image"),
        "image: Lite0 as plain Keras call b32, ms/image": summary(
            per_item_ms(t["keras_lite0_b32"], 32), "ms/image", f"our Lite0, Keras model(x), {size} px"),
        "image: embed() with preprocessing b32, ms/image": summary(
            per_item_ms(t["embed_b32"], 32), "ms/image", "ImageAttributeModel.embed: PIL resize/pad + TFLite"),
        "image: shipped recipe's image path b32, ms/image": {
            **summary(per_item_ms(t["shipped_b32"], 32), "ms/image", shipped_what),
            "target": target(shipped32, 15.0)},
        "image: zoom option's image path b32, ms/image": {
            **summary(per_item_ms(t["zoom_b32"], 32), "ms/image",
                      f"ImageAttributeModel.embed with extras zoom (ml/zoom.py): {recipe.IMAGE_SIZE} px, the photo "
                      "and a crop round the piece, preprocessing and cropping included"),
            "target": target(zoom32, 15.0)},
        "image: ratio shipped recipe's image path/baseline b32": summary(
            ratios_shipped, "x", "shipped recipe's embed() time / baseline EfficientNetB0.predict time, paired runs"),
        "image: ratio serving/baseline b32": {
            **summary(ratios, "x", "serving path time / baseline time per image, paired runs"),
            "target": target(median_ratio, 0.35)},
        "image: ratio serving/baseline b32, both 224px": summary(
            ratios224, "x", "serving path at 224 px / baseline, paired runs"),
        "image: accuracy gap serving vs float Keras": {
            "value": round(worst_gap, 2), "unit": "points (worst attribute)",
            "what": f"attribute accuracy on {len(images)} held-out drawings: "
                    f"serving {acc_fast}, float Keras {acc_keras}",
            "target": target(worst_gap, 1.0)},
        "image: serving model load, s": {"value": round(load_s, 2), "unit": "s",
                                         "what": "ImageAttributeModel.load with the cached .tflite"},
    }
    return {"figures": figures}


def text_part(bundle: str, quick: bool) -> dict:
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow; bench.run imports this module)
    from ml.text_model import DescriptionModel  # noqa: PLC0415  (lazy: loads TensorFlow; bench.run imports this module)

    runs32, runs1, runs_step = (3, 10, 2) if quick else (7, 30, 5)
    image_model = ImageAttributeModel.load(Path(bundle) / "image")
    text = DescriptionModel.load(Path(bundle) / "text")
    items = generate_catalog(32, seed=7, image_size=192)
    emb = image_model.embed([it.image for it in items])
    preds = image_model.predict_features(emb)
    attrs = [{a: p[a]["value"] for a in p} for p in preds]
    length = "long"  # about 60 tokens decoded per row
    counter = {"i": 0}

    def one():  # a different photo each call, as in a queue of single jobs
        i = counter["i"] = (counter["i"] + 1) % 32
        return text.generate(emb[i:i + 1], attrs[i:i + 1], tone="elegant", length=length, seed=i)

    gen32 = repeat(lambda: text.generate(emb, attrs, tone="elegant", length=length), runs32)
    gen1 = repeat(one, runs1)
    sample32 = repeat(lambda: text.sample(emb, attrs, ["elegant"] * 32, [length] * 32), runs32)
    step1 = repeat(lambda: text.sample_stepwise(emb[:1], attrs[:1], ["elegant"], [length]), runs_step)
    out = text.generate(emb, attrs, tone="elegant", length=length)
    raw = text.sample(emb, attrs, ["elegant"] * 32, [length] * 32)
    tokens = float(np.mean([len(ids) for ids in text._encode(raw)]))
    g1 = float(np.median(per_item_ms(gen1, 1)))
    g32 = float(np.median(per_item_ms(gen32, 32)))
    figures = {
        "text: generate b1, ms/description": {
            **summary(per_item_ms(gen1, 1), "ms/description",
                      "DescriptionModel.generate, one photo per call (decode + grounding + retries), long"),
            "target": target(g1, 40.0)},
        "text: generate b32, ms/description": {
            **summary(per_item_ms(gen32, 32), "ms/description", "generate for 32 photos in one call, long"),
            "target": target(g32, 5.0)},
        "text: compiled decode only b32, ms/description": summary(
            per_item_ms(sample32, 32), "ms/description", "DescriptionModel.sample (top-p), no grounding"),
        "text: step-by-step keras-hub decode b1 (before), ms/description": summary(
            per_item_ms(step1, 1), "ms/description", "sample_stepwise: keras-hub sampler calling a Keras step model"),
        "text: tokens decoded per description": {"value": round(tokens, 1), "unit": "tokens",
                                                 "what": "mean WordPiece tokens of the raw decode (long)"},
        "text: grounded descriptions": {"value": sum(bool(t) for t in out), "unit": f"of {len(out)}",
                                        "what": "non-empty grounded descriptions in a b32 run"},
    }
    return {"figures": figures}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (under a minute)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--bundle", default=default_bundle())
    ap.add_argument("--only", choices=("image", "text"))
    args = ap.parse_args(argv)
    if not (Path(args.bundle) / "meta.json").exists():
        raise SystemExit(f"no model bundle at {args.bundle}: run `make model` or set BENCH_BUNDLE")
    started = time.perf_counter()
    figures = {}
    if args.only in (None, "image"):
        figures.update(image_part(args.bundle, args.quick)["figures"])
    if args.only in (None, "text"):
        figures.update(text_part(args.bundle, args.quick)["figures"])
    emit("inference", {"figures": figures, "wall_s": round(time.perf_counter() - started, 1),
                       "bundle": args.bundle}, args.json)


if __name__ == "__main__":
    main()
