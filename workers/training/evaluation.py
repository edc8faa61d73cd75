"""`flask ml evaluate`: score a registered version on labelled photos it has never seen.

TensorFlow is imported inside the function, like the rest of this package.
"""
from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from ml.evaluate import evaluate_labelled
from workers.training import registry


def evaluate_version(store, config, labels_csv, images_root, version: str | None = None,
                     out=None) -> tuple[dict, str]:
    """The report of ``ml.evaluate.evaluate_labelled`` for ``version`` (default: the promoted one)
    and the folder of its confusion-matrix PNGs.

    Photos missing or unreadable are left out and counted. Raises RegistryRefused for an unknown version.
    """
    # TensorFlow only when an evaluation runs, not when `flask ml` is registered in the web process.
    from ml.listing import ListingGenerator  # noqa: PLC0415  (lazy: loads TensorFlow)

    registry.ensure_bootstrap(store, config)
    if version:
        row = registry.get_version(version)
        if row is None:
            raise registry.RegistryRefused(f"no model version {version!r}")
        bundle = registry.fetch(store, row, config["MODEL_CACHE_DIR"])
    else:
        bundle = registry.promoted_bundle(store, config)
    generator = ListingGenerator.load(bundle)
    root = Path(images_root)
    with open(labels_csv, newline="", encoding="utf-8") as f:
        rows = [dict(r, path=str(root / r["path"])) for r in csv.DictReader(f)]
    missing = [r["path"] for r in rows if not Path(r["path"]).is_file()]
    unreadable = [r["path"] for r in rows if r["path"] not in missing and not _readable(r["path"])]
    rows = [r for r in rows if r["path"] not in missing and r["path"] not in unreadable]
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    out = out or str(Path(config["INSTANCE_PATH"]) / "evaluations" / f"{generator.model_version}-{stamp}")
    report = evaluate_labelled(generator, rows, out, threshold=config["LOW_CONFIDENCE_THRESHOLD"])
    report["missing_images"], report["unreadable_images"] = len(missing), len(unreadable)
    return report, out


def _readable(path) -> bool:
    try:
        with Image.open(path) as im:
            im.load()
        return True
    except Exception:
        return False
