"""`flask catalog import-*` and `flask ml train|evaluate|promote|rollback|versions|register-starter`.

Thin: each command reads its options, calls the training package (workers/training/) and
prints. The package is imported inside each command, the one way the web package reaches
code that loads TensorFlow: the web process registers these commands but never runs them.
"""
from __future__ import annotations

import csv
import json

import click
from flask import current_app
from flask.cli import AppGroup
from tqdm import tqdm

from webapp import taxonomy
from webapp.label_mappings import MappingRefused, mappings, remove_mapping, set_mapping, unknown_values
from webapp.storage import get_store
from webapp.training_tables import LABEL_ATTRIBUTES

catalog_cli = AppGroup("catalog", help="Import a marketplace's existing catalogue as training data.")
ml_cli = AppGroup("ml", help="Train, evaluate and version the listing models.")


def _run_import(source: str, rows, total, as_json: bool) -> None:
    from workers.training.importer import import_rows  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    with tqdm(total=total, desc=f"import {source}", unit="row", disable=as_json) as bar:
        summary = import_rows(get_store(), current_app.config.get("S3_PREFIX", ""), source, rows, bar.update)
    click.echo(json.dumps(summary.as_dict()) if as_json else "\n".join(summary.lines()))


@catalog_cli.command("import-folder")
@click.option("--labels", "labels_csv", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV with path,category[,metal,gemstone,style,colour,type,finish,stone_count,description,tone]")
@click.option("--images-root", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="print the summary as one JSON object")
def import_folder(labels_csv, images_root, as_json):
    """Import photos from a folder, labelled by a CSV (paths relative to --images-root)."""
    from workers.training.sources import folder_rows  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    with open(labels_csv, newline="", encoding="utf-8") as f:
        total = max(sum(1 for _ in csv.reader(f)) - 1, 0)
    _run_import("folder", folder_rows(labels_csv, images_root), total, as_json)


@catalog_cli.command("import-mysql")
@click.option("--table", default="products", show_default=True, help="table holding the listings")
@click.option("--id-column", default="id", show_default=True)
@click.option("--image-column", default="image_key", show_default=True,
              help="S3 key of the photo, relative to --prefix (or a full s3:// URL)")
@click.option("--category-column", default="category", show_default=True)
@click.option("--metal-column", default="metal", show_default=True, help="'' if the table has none")
@click.option("--gemstone-column", default="gemstone", show_default=True, help="'' if the table has none")
@click.option("--description-column", default="description", show_default=True, help="'' if none")
@click.option("--column", "more_columns", multiple=True, metavar="ATTRIBUTE=COLUMN",
              help="another attribute's column, e.g. --column type=kind --column finish=surface "
                   f"(any of {', '.join(LABEL_ATTRIBUTES)}); repeatable")
@click.option("--query", default=None,
              help="SQL instead of the mapping; must return id, image, category (optional: any other attribute "
                   "by its name, description, tone)")
@click.option("--bucket", default=None, help="bucket of the photos [S3_BUCKET_NAME]")
@click.option("--prefix", default=None, help="key prefix of the photos [S3_PREFIX]")
@click.option("--json", "as_json", is_flag=True)
def import_mysql(table, id_column, image_column, category_column, metal_column, gemstone_column,
                 description_column, more_columns, query, bucket, prefix, as_json):
    """Import listings from the marketplace's MySQL (DB_HOST, DB_USER, DB_PASSWORD, DB_NAME), photos from S3."""
    from workers.training.sources import marketplace_rows, mysql_query  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    extra = {}
    for given in more_columns:
        attribute, _, column = given.partition("=")
        if attribute not in LABEL_ATTRIBUTES or not column:
            raise click.BadParameter(f"{given!r}: expected ATTRIBUTE=COLUMN with ATTRIBUTE one of "
                                     f"{', '.join(LABEL_ATTRIBUTES)}", param_hint="--column")
        extra[attribute] = column

    cfg = current_app.config
    if not cfg["CATALOG_DB_HOST"] or not cfg["CATALOG_DB_NAME"]:
        raise click.UsageError("set DB_HOST and DB_NAME (and DB_USER, DB_PASSWORD) to the marketplace database")
    bucket = bucket or cfg["S3_BUCKET_NAME"]
    if not bucket:
        raise click.UsageError("set S3_BUCKET_NAME (or --bucket) to the bucket holding the photos")
    prefix = cfg.get("S3_PREFIX", "") if prefix is None else prefix
    if query is None:
        query = mysql_query(table, {"id": id_column, "image": image_column, "category": category_column,
                                    "metal": metal_column or None, "gemstone": gemstone_column or None,
                                    "description": description_column or None, **extra})
    with marketplace_rows(cfg, query, bucket, prefix) as (rows, total):
        _run_import("mysql", rows, total, as_json)


@ml_cli.command("train")
@click.option("--seed", default=0, show_default=True)
@click.option("--epochs", "head_epochs", default=80, show_default=True, help="most epochs per head (early stopping)")
@click.option("--text-epochs", default=6, show_default=True)
@click.option("--min-descriptions", default=50, show_default=True,
              help="the describer is retrained only with at least this many descriptions")
@click.option("--min-labels", default=20, show_default=True,
              help="an attribute's head is retrained only with at least this many labelled photos")
@click.option("--finetune/--no-finetune", default=False, show_default=True,
              help="also fine-tune the backbone's top blocks (kept only if better on a fifth of the photos "
                   "held out from it); off by default: the recipe ml.crossval measures trains the heads only")
@click.option("--no-gate", is_flag=True, help="promote even if the held-out score is worse")
@click.option("--json", "as_json", is_flag=True)
def train(seed, head_epochs, text_epochs, min_descriptions, min_labels, finetune, no_gate, as_json):
    """Train on the imported catalogue plus feedback; register, and promote if not worse."""
    from workers.training.pipeline import train_candidate  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    log = (lambda m: click.echo(m, err=True)) if as_json else click.echo
    with tqdm(desc="backbone features", unit="photo", disable=as_json) as bar:
        result = train_candidate(get_store(), current_app.config, seed=seed, head_epochs=head_epochs,
                                 text_epochs=text_epochs, min_texts=min_descriptions, min_labels=min_labels,
                                 finetune=finetune, gate=not no_gate,
                                 log=log, progress=bar.update)
    if as_json:
        click.echo(json.dumps(result))
        return
    gate = result["gate"]
    click.echo(f"version {result['version']}: held-out score {gate['candidate_score']} "
               f"vs {gate['current_score']} ({gate['current_version']}) on {gate['holdout_n']} photos")
    for attr, cand in gate["candidate"].items():
        probe = (gate.get("linear_probe") or {}).get(attr, {})
        click.echo(f"  {attr:<11} accuracy {cand['accuracy']} (linear probe {probe.get('accuracy', '-')}), "
                   f"shown unflagged {cand.get('coverage')} with error rate {cand.get('risk')}")
    click.echo("promoted" if result["promoted"] else "not promoted (worse than the current version); "
               f"`flask ml promote {result['version']}` to promote it anyway")


@ml_cli.command("promote")
@click.argument("version")
def promote(version):
    """Make VERSION the one workers use."""
    from workers.training import registry  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    try:
        row = registry.promote(version)
    except registry.RegistryRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{row.version} promoted")


@ml_cli.command("rollback")
def rollback():
    """Go back to the version promoted before the current one."""
    from workers.training import registry  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    try:
        row = registry.rollback()
    except registry.RegistryRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"rolled back to {row.version}")


@ml_cli.command("register-starter")
def register_starter():
    """Register the bundle in MODEL_DIR as the first version, if none is registered."""
    from workers.training import registry  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    row = registry.ensure_bootstrap(get_store(), current_app.config)
    click.echo(f"{row.version} registered and promoted" if row else "a version is registered already")


@ml_cli.command("versions")
def versions():
    """List registered versions, newest first."""
    from workers.training import registry  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    for row in registry.versions():
        gate = row.gate or {}
        click.echo(f"{row.version:<40} {row.status:<12} held-out {gate.get('candidate_score')} "
                   f"(was {gate.get('current_score')})")


@ml_cli.command("evaluate")
@click.option("--labels", "labels_csv", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--images-root", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--version", default=None, help="a registered version [the promoted one]")
@click.option("--out", default=None, help="folder for the confusion-matrix PNGs")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def evaluate(labels_csv, images_root, version, out, as_json):
    """Score a model on labelled photos it has never seen."""
    from workers.training import registry  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)
    from workers.training.evaluation import evaluate_version  # noqa: PLC0415  (lazy: the training package, the web's one path to TensorFlow, only in `flask ml`/`flask catalog`)

    try:
        report, out = evaluate_version(get_store(), current_app.config, labels_csv, images_root, version, out)
    except registry.RegistryRefused as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"model {report['model_version']} on {report['n']} photos "
               f"({report['missing_images']} missing, {report['unreadable_images']} unreadable, left out)")
    click.echo(f"{'attribute':<10} {'n':>4} {'acc':>6} {'maj':>6} {'F1':>6} {'ECE':>6} {'ask':>6}")
    for a, r in report["attributes"].items():
        click.echo(f"{a:<10} {r['n']:>4} {r['accuracy']:>6.3f} {r['majority_baseline']:>6.3f} "
                   f"{r['macro_f1']:>6.3f} {r['ece']:>6.3f} {r['needs_confirmation']:>6.2f}")
    if "descriptions" in report:
        d = report["descriptions"]
        click.echo(f"descriptions (n={d['n']}): BLEU-4 {d['bleu4']:.3f}, ROUGE-L {d['rouge_l']:.3f}, "
                   f"distinct-2 {d['distinct_2']:.3f}")
    click.echo(f"confusion matrices: {out}")


@catalog_cli.command("map")
@click.argument("attribute")
@click.argument("raw")
@click.argument("value")
def map_label(attribute, raw, value):
    """Read RAW as VALUE for ATTRIBUTE in later imports (e.g. `map category pendientes earrings`);
    photos already imported as RAW are relabelled. The same as the /admin/labels page."""
    try:
        change = set_mapping(attribute, raw, value)
    except MappingRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{attribute} {change.raw!r} -> {change.value!r}"
               + (f" ({change.relabelled} imported photos relabelled)" if change.relabelled else ""))


@catalog_cli.command("unmap")
@click.argument("attribute")
@click.argument("raw")
def unmap_label(attribute, raw):
    """Forget the mapping of RAW for ATTRIBUTE."""
    try:
        change = remove_mapping(attribute, raw)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{attribute} {change.raw!r} unmapped")


@catalog_cli.command("mappings")
@click.option("--json", "as_json", is_flag=True)
def list_mappings(as_json):
    """The label mappings imports apply, the imported labels the taxonomy does not know yet,
    and the promoted version's values."""
    found, unknown = mappings(), unknown_values()
    if as_json:
        click.echo(json.dumps({"mappings": found, "unknown": {a: dict(v) for a, v in unknown.items()},
                               "taxonomy": taxonomy.current().to_json()["attributes"]}))
        return
    for attribute, table in sorted(found.items()):
        for raw, value in sorted(table.items()):
            click.echo(f"{attribute}: {raw!r} -> {value!r}")
    for attribute, values in unknown.items():
        click.echo(f"not in the taxonomy yet, {attribute}: " + ", ".join(f"{v!r} on {n}" for v, n in values))
