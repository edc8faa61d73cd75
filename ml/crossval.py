"""The shipped attribute recipe beside the plainest baseline, on the same splits by piece.

    python -m ml.crossval --data ../shared/data/real-dev [--seeds 0,1,2,3,4] [--json]

Each split trains on 60 % of the pieces and scores the rest (``ring_1.jpg`` stays with
``ring.jpg``; byte-identical photos count once, so no scored piece was seen in training).
On every split, from the same cached embeddings:

- ``linear_probe``: the ImageNet Lite0 embedding at 224 px, L2-normalised, softmax
  regression (ml/heads.py :func:`linear_probe`), trained on all the training photos;
- ``shipped``: what ``flask ml train`` ships (ml/recipe.py; ml/heads.py :func:`train_attribute`): heads
  fitted on all the training pieces' views, temperature and flag thresholds calibrated on
  out-of-fold scores (5 folds by piece over the training pieces), flip test-time
  augmentation; ``coverage`` and ``risk`` are the share of test photos shown without a
  flag and the error rate among them.

Per attribute: accuracy and macro-F1 per split, their mean and spread (standard
deviation over splits), and the shipped recipe's gain over the probe per split.
``--extras gem,colour`` measures the recipe with other feature parts (ml/features.py
``EXTRAS``); every global part is embedded and cached once, so variants share one cache.
The zoom parts (ml/zoom.py: a crop round the piece) are placed on each split by category heads
fitted on that split's training pieces only, cross-fitted as ``train_bundle`` does (a training
photo's crop by a head fitted on the other folds), so they are embedded per split; with
``--piece-locator FILE`` by the class-agnostic locator learned from renders (ml/piece_locator.py)
instead, the same crops on every split.
``--finetune`` adds ``finetuned``, the recipe on a fine-tuned top (ml/tuned_recipe.py), beside
``shipped`` on the same splits, with its gain over both: three fine-tunes per split and
attribute, cross-fitted, each on the training pieces only (trunk maps cached).
``--aux-renders DIR --aux-weight 0.25[,1]`` adds ``renders_0.25`` (and ``renders_1``): the shipped
recipe with the rendered starter catalogue among its heads' training photos, together weighing that
share of the real ones (ml/render_aux.py); its flags are still calibrated on real photos alone.
Measured and not shipped (docs/models.md).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ml import conformal, heads, recipe, render_aux, tuned_recipe, zoom
from ml.evaluate import read_rows
from ml.features import EXTRAS, TEST_VIEWS, TRAIN_VIEWS, cached_views, feature_dims, head_input, select_parts, view
from ml.scoring import confusion, macro_f1
from ml.taxonomy import Taxonomy

ATTRIBUTES = ("category", "metal")
TRAIN_SHARE = 0.6
FOLDS = 5  # cross-fitting folds over the training pieces (as train_bundle does over its photos)
PROBE = {"arch": "lite0", "image_size": 224}
ALL_EXTRAS = tuple(EXTRAS)  # each measured recipe reads the parts it uses
GLOBAL_EXTRAS = tuple(e for e in EXTRAS if e not in zoom.PARTS)  # embedded (and cached) once for all splits


def _piece(path: str) -> str:
    p = Path(path)
    return f"{p.parent}/{re.sub(r'_[0-9]+$', '', p.stem)}"


def split(rows: list[dict], seed: int, share: float = TRAIN_SHARE) -> tuple[list[dict], list[dict]]:
    """Rows of ``share`` of the pieces (chosen by ``seed``), and the rest."""
    pieces = sorted({_piece(r["path"]) for r in rows})
    order = np.random.default_rng(seed).permutation(len(pieces))
    train = {pieces[i] for i in order[:int(share * len(pieces))]}
    return [r for r in rows if _piece(r["path"]) in train], [r for r in rows if _piece(r["path"]) not in train]


def _loader(path: str, flip: bool = False):
    def load():
        with Image.open(path) as im:
            return view(im, "flip") if flip else im.convert("RGB")
    return load


def unique_rows(data_dir) -> list[dict]:
    """``labels.csv`` rows, byte-identical photos once, each with its content fingerprint ``sha``."""
    rows, seen = [], set()
    for r in read_rows(data_dir):
        digest = hashlib.sha256(Path(r["path"]).read_bytes()).hexdigest()[:20]
        if digest not in seen:
            seen.add(digest)
            rows.append(dict(r, sha=digest))
    return rows


def _scores(pred: np.ndarray, truth: np.ndarray, n: int) -> dict:
    m = confusion(list(truth), list(pred), n)
    return {"accuracy": round(float((pred == truth).mean()), 4), "macro_f1": round(macro_f1(m), 4)}


def _summary(per_split: list[dict]) -> dict:
    out = {"per_split": per_split}
    for key in ("accuracy", "macro_f1", "coverage", "risk"):
        vals = [s[key] for s in per_split if s.get(key) is not None]
        if vals:
            out[f"mean_{key}"] = round(float(np.mean(vals)), 4)
            out[f"spread_{key}"] = round(float(np.std(vals)), 4)
    return out


def _zoomed(global_feats: np.ndarray, rows: list[dict], train: list[dict], test: list[dict], test_views,
            seed: int, feature_cache, log, piece_locator=None) -> np.ndarray:
    """Features with every part (``ALL_EXTRAS``): the cached global parts, then the zoom parts
    (ml/zoom.py). The locator is a category head on the rows whose piece is not scored; a
    training photo's crop is placed by one fitted on the other folds (by piece) of those rows,
    a scored photo's by one fitted on all of them. Only the views that are read are filled: the
    training views of ``train``, the test views of ``test``. A ``piece_locator`` (ml/piece_locator.py,
    learned from renders, so it saw no photo here) places every crop instead."""
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow)

    full, per_fold, fold_of = piece_locator, {}, {}
    if piece_locator is None:
        test_pieces = {_piece(r["path"]) for r in test}
        fit = [i for i, r in enumerate(rows) if _piece(r["path"]) not in test_pieces and r.get("category")]
        values = sorted({rows[i]["category"] for i in fit})
        folds = heads.group_folds([_piece(rows[i]["path"]) for i in fit], FOLDS, seed)
        full, per_fold = zoom.fit_locators(global_feats[fit, :, :1280], np.array(
            [values.index(rows[i]["category"]) for i in fit]), len(values), folds)
        fold_of = {i: int(f) for i, f in zip(fit, folds, strict=True)}
    index = {r["sha"]: i for i, r in enumerate(rows)}

    def make_model(locator):
        return ImageAttributeModel(PROBE["image_size"], arch=PROBE["arch"], extras=zoom.PARTS, locator=locator)

    out = np.zeros((*global_feats.shape[:2], sum(feature_dims(ALL_EXTRAS))), np.float32)
    out[..., :global_feats.shape[-1]] = global_feats
    for part, views in ((train, TRAIN_VIEWS), (test, test_views)):
        idx = [index[r["sha"]] for r in part]
        locators = [per_fold.get(fold_of[i], full) if i in fold_of and part is train else full for i in idx]
        feats = zoom.located_features(make_model, [_loader(rows[i]["path"]) for i in idx],
                                      [rows[i]["sha"] for i in idx], locators, views, feature_cache, log)
        cols = np.arange(global_feats.shape[-1], out.shape[-1])
        out[np.ix_(idx, [TRAIN_VIEWS.index(v) for v in views], cols)] = feats[..., 1280:]
    return out


def _scored(head: dict, x_test: np.ndarray, y_test: np.ndarray, values) -> dict:
    """A recipe's head on the scored photos: accuracy, macro-F1, coverage and risk of its flags."""
    probs = heads.predict(head["w"], head["b"], x_test)
    pred = probs.argmax(1)
    flagged = [conformal.is_flagged(values[k], float(p), head["calibration"])
               for k, p in zip(pred, probs.max(1), strict=False)]
    return {"n_test": len(y_test), "oof_accuracy": head["oof_accuracy"], **_scores(pred, y_test, len(values)),
            **conformal.coverage_and_risk(flagged, pred == y_test), "threshold": head["calibration"]["threshold"],
            **({"tuned_kept": head["tuned"]} if "tuned" in head else {})}


def _gains(runs: list[dict], base: list[dict]) -> dict:
    gains = [s["accuracy"] - p["accuracy"] for s, p in zip(runs, base, strict=True)]
    return {"per_split": [round(g, 4) for g in gains], "mean": round(float(np.mean(gains)), 4),
            "spread": round(float(np.std(gains)), 4)}


def run(data_dir, seeds, feature_cache=None, alpha: float = conformal.ALPHA, delta: float = conformal.DELTA,
        min_value_labels: int = conformal.MIN_VALUE_LABELS, extras=None, finetune: bool = False,
        aux_renders=None, aux_weights=(), piece_locator=None, log=None) -> dict:
    """Probe and recipe on every split; ``extras`` (default: the shipped recipe's) measures a
    variant instead; ``finetune`` adds the fine-tuned recipe (``finetuned``) beside the shipped one;
    ``aux_renders`` (a folder of renders) adds the shipped recipe trained with them too, once per
    weight in ``aux_weights`` (``renders_<weight>``); ``piece_locator`` (``{"w", "b"}``,
    ml/piece_locator.py) places the zoom parts' crops instead of the category heads."""
    from ml.image_model import ImageAttributeModel  # noqa: PLC0415  (lazy: loads TensorFlow)

    extras = tuple(recipe.EXTRAS if extras is None else extras)
    zoomed = any(p in extras for p in zoom.PARTS)
    render_weights = {f"renders_{w:g}": float(w) for w in aux_weights} if aux_renders else {}
    recipes = {"shipped": False, **({"finetuned": True} if finetune else {}),
               **dict.fromkeys(render_weights, False)}  # name: fine-tuned?
    _refuse(extras, zoomed, finetune, bool(render_weights))
    quiet = log or (lambda _: None)
    rows = unique_rows(data_dir)
    model = ImageAttributeModel(PROBE["image_size"], arch=PROBE["arch"], extras=GLOBAL_EXTRAS)
    global_feats = cached_views(model, [_loader(r["path"]) for r in rows], [r["sha"] for r in rows],
                                TRAIN_VIEWS, feature_cache, quiet)
    probe_emb = global_feats[:, 0, :1280]  # the plain view's embedding
    test_views = recipe.test_views(extras)
    test_idx = [TRAIN_VIEWS.index(v) for v in test_views]

    def recipe_input(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The heads' training views and test-view input, every photo."""
        have = ALL_EXTRAS if zoomed else GLOBAL_EXTRAS
        return (head_input(select_parts(feats, have, extras), extras),
                head_input(select_parts(feats[:, test_idx].mean(1), have, extras), extras))

    if not zoomed:  # the same on every split
        emb, test_emb = recipe_input(global_feats)
    index = {r["sha"]: i for i, r in enumerate(rows)}
    renders = _renders(model, rows, aux_renders, extras, feature_cache, quiet) if render_weights else None
    result = {"n_photos": len(rows), "seeds": list(seeds), "train_share": TRAIN_SHARE, "folds": FOLDS,
              "alpha": alpha, "delta": delta, "backbone": PROBE,
              "locator": ("piece" if piece_locator is not None else "category CAM") if zoomed else None,
              "shipped_recipe": {**recipe.RECIPE, "extras": list(extras), "test_views": list(test_views)},
              "linear_probe": {}, **{name: {} for name in recipes}}
    if finetune:
        result["finetuned_recipe"] = {"arch": recipe.ARCH, "image_size": recipe.IMAGE_SIZE, "finetune": True,
                                      "trunk_views": tuned_recipe.VIEWS, "test_views": list(TEST_VIEWS),
                                      "cross_fit_folds": tuned_recipe.FOLDS}
        trunk, flipped, imagenet, labels, taxonomy = _tuning_inputs(model, rows, feature_cache, quiet)
    for attr in ATTRIBUTES:
        values = sorted({r[attr] for r in rows if (r.get(attr) or "").strip()})
        labelled = [r for r in rows if (r.get(attr) or "").strip()]
        if len(values) < 2:
            continue
        probe_runs, runs = [], {name: [] for name in recipes}
        for seed in seeds:
            train, test = split(labelled, seed)
            y = {name: np.array([values.index(r[attr]) for r in part]) for name, part in
                 (("train", train), ("test", test))}
            i = {name: [index[r["sha"]] for r in part] for name, part in (("train", train), ("test", test))}
            if zoomed:  # crops placed by category heads that never saw the photo (ml/zoom.py)
                emb, test_emb = recipe_input(_zoomed(global_feats, rows, train, test, test_views, seed,
                                                     feature_cache, quiet, piece_locator))
            w, b = heads.linear_probe(probe_emb[i["train"]], y["train"], len(values))
            probe_runs.append({"seed": seed, "n_train": len(train), "n_test": len(test),
                               **_scores(heads.predict(w, b, probe_emb[i["test"]]).argmax(1), y["test"],
                                         len(values))})
            pieces = [_piece(r["path"]) for r in train]
            for name, tuned in recipes.items():
                if tuned:
                    tr = i["train"]
                    head = tuned_recipe.train_attribute(trunk[tr], flipped[tr], imagenet[tr],
                                                        [labels[k] for k in tr], taxonomy, attr, pieces, alpha,
                                                        delta, min_value_labels, seed, log=quiet)
                    x_test = tuned_recipe.embeddings(head["model"], trunk[i["test"]], flipped[i["test"]])[1]
                else:
                    aux = None if name not in render_weights else (
                        *render_aux.for_attribute(*renders, attr, values, {r[attr] for r in train}),
                        render_weights[name])
                    head = heads.train_attribute(emb[i["train"]], y["train"], test_emb[i["train"]], pieces, values,
                                                 alpha, delta, min_value_labels, FOLDS, seed, aux=aux)
                    x_test = test_emb[i["test"]]
                runs[name].append({"seed": seed, "n_train": len(train), "n_renders": len(aux[1]) if aux else 0,
                                   **_scored(head, x_test, y["test"], values)})
                quiet(f"{attr} seed {seed}: probe {probe_runs[-1]['accuracy']}, {name} {runs[name][-1]['accuracy']} "
                      f"(coverage {runs[name][-1]['coverage']}, risk {runs[name][-1]['risk']})")
        _summarise(result, attr, probe_runs, runs)
    return result


def _summarise(result: dict, attr: str, probe_runs: list[dict], runs: dict[str, list[dict]]) -> None:
    """Each recipe's summary of ``attr`` into ``result``, with its gain over the probe (and the
    other recipes' over the shipped one), split by split."""
    result["linear_probe"][attr] = _summary(probe_runs)
    for name, done in runs.items():
        result[name][attr] = {**_summary(done), "gain_over_probe": _gains(done, probe_runs)}
    for name in runs:
        if name != "shipped":
            result[name][attr]["gain_over_shipped"] = _gains(runs[name], runs["shipped"])


def _refuse(extras, zoomed: bool, finetune: bool, renders: bool) -> None:
    """Refuse a combination this module cannot measure honestly."""
    if (recipe.ARCH, recipe.IMAGE_SIZE) != (PROBE["arch"], PROBE["image_size"]):
        raise RuntimeError("the shipped recipe's backbone differs from the probe's: embed both")
    if finetune and extras:
        raise ValueError("a fine-tuned top is for heads that read the embedding alone")
    if renders and (zoomed or finetune):
        raise ValueError("renders join heads on global feature parts only")


def _renders(model, rows, folder, extras, feature_cache, log) -> tuple[np.ndarray, list[dict]]:
    """The heads' input for each render with a value real-dev labels (ml/render_aux.py), and its labels."""
    keep = {a: {r[a] for r in rows if (r.get(a) or "").strip()} for a in ATTRIBUTES}
    feats, labels = render_aux.render_features(model, folder, ATTRIBUTES, keep, feature_cache, log)
    return head_input(select_parts(feats, GLOBAL_EXTRAS, extras), extras), labels


def _tuning_inputs(model, rows, feature_cache, log):
    """What the fine-tuned recipe reads, for every photo: ``tuned_recipe.VIEWS`` trunk maps, the
    mirror image's, their ImageNet embeddings, the labels, and a taxonomy of the labelled values."""
    from ml.train_catalog import cached_trunk_features, embed_views  # noqa: PLC0415  (lazy: loads TensorFlow)

    log(f"trunk maps of {len(rows)} photos x {tuned_recipe.VIEWS} views and the mirror image")
    shas = [r["sha"] for r in rows]
    trunk = cached_trunk_features(model, [_loader(r["path"]) for r in rows], shas, tuned_recipe.VIEWS, 0,
                                  feature_cache)
    flipped = cached_trunk_features(model, [_loader(r["path"], flip=True) for r in rows],
                                    [f"{s}-flip" for s in shas], 1, 0, feature_cache)
    labels = [{a: (r.get(a) or "").strip() or None for a in ATTRIBUTES} for r in rows]
    taxonomy = Taxonomy({a: tuple(sorted({lab[a] for lab in labels if lab[a]})) for a in ATTRIBUTES})
    return trunk, flipped, embed_views(model, trunk), labels, taxonomy


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder with labels.csv (path,category[,metal,...])")
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--feature-cache", default=None, help="folder for cached embeddings")
    parser.add_argument("--alpha", type=float, default=conformal.ALPHA)
    parser.add_argument("--extras", default=None,
                        help="feature parts besides the embedding, comma-separated (gem, colour, zoom, "
                             "zoom_colour; 'none'): measure a variant instead of the shipped recipe")
    parser.add_argument("--finetune", action="store_true",
                        help="add the recipe on a cross-fitted fine-tuned top (ml/tuned_recipe.py)")
    parser.add_argument("--aux-renders", default=None, help="folder of renders (NNNNNN.jpg + .json) to train with too")
    parser.add_argument("--aux-weight", default="0.25",
                        help="the renders' total weight as a share of the real photos', comma-separated")
    parser.add_argument("--piece-locator", default=None,
                        help="a .npz from python -m ml.piece_locator: it places the zoom parts' crops")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    extras = None if args.extras is None else tuple(e for e in args.extras.split(",") if e and e != "none")
    result = run(args.data, [int(s) for s in args.seeds.split(",")], args.feature_cache, alpha=args.alpha,
                 extras=extras, finetune=args.finetune, aux_renders=args.aux_renders,
                 aux_weights=[float(w) for w in args.aux_weight.split(",")],
                 piece_locator=dict(np.load(args.piece_locator)) if args.piece_locator else None,
                 log=lambda m: print(m, file=sys.stderr))
    if args.json:
        print(json.dumps(result))
        return
    for name in [k for k in result if k == "shipped" or k == "finetuned" or k.startswith("renders_")]:
        for attr in result.get(name, {}):
            p, s = result["linear_probe"][attr], result[name][attr]
            print(f"{attr:<9} probe {p['mean_accuracy']:.3f}±{p['spread_accuracy']:.3f} (F1 {p['mean_macro_f1']:.3f})  "
                  f"{name} {s['mean_accuracy']:.3f}±{s['spread_accuracy']:.3f} (F1 {s['mean_macro_f1']:.3f})  "
                  f"gain {s['gain_over_probe']['mean']:+.3f}±{s['gain_over_probe']['spread']:.3f}  "
                  f"coverage {s.get('mean_coverage', 0):.3f} risk {s.get('mean_risk', float('nan')):.3f}")


if __name__ == "__main__":
    main()
