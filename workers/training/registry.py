"""Model registry: bundles as tarballs in object storage, one database row per version.

Exactly one version is `promoted` once any is registered; workers poll for it and load
it without a redeploy (workers/model_loader.py). `promoted_record` is the one answer to "which
version is promoted": workers, `flask ml`, training, the ops page and the metrics gauge all
ask it, and until a version is registered the starter in MODEL_DIR is what serves.
Rolling back re-promotes the version that was promoted before the current one and marks
the current one `rolled_back`, so a second rollback goes one further step back.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy import select

from ml.taxonomy import DEFAULT
from webapp import taxonomy
from webapp.extensions import db
from webapp.models import utcnow
from webapp.training_tables import ModelVersion


class RegistryRefused(LookupError):
    """No such version, or nothing to roll back to: the message says which."""


def bundle_key(config, version: str) -> str:
    return f"{config.get('S3_PREFIX', '')}models/{version}.tar.gz"


def pack(bundle_dir) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path in sorted(Path(bundle_dir).rglob("*")):
            if path.is_file():
                tar.add(path, arcname=str(path.relative_to(bundle_dir)))
    return out.getvalue()


def unpack(data: bytes, dest) -> None:
    """Extract into ``dest`` atomically (a temporary folder renamed into place)."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".unpack-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(tmp, dest)
        except OSError:  # another process got there first
            if not (dest / "meta.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def promoted_record():
    """The promoted version's row (version, object_key, metrics, created_at), or None.

    Reads through its own connection, not the session: a worker calls this between a
    task's transactions and must not leave a read snapshot open in the task's session.
    """
    with db.engine.connect() as conn:
        return conn.execute(select(ModelVersion.version, ModelVersion.object_key, ModelVersion.metrics,
                                   ModelVersion.created_at)
                            .where(ModelVersion.status == "promoted")
                            .order_by(ModelVersion.promoted_at.desc()).limit(1)).first()


def promoted_bundle(store, config) -> Path:
    """Folder of the promoted version (downloaded on first use), else the starter in MODEL_DIR."""
    row = promoted_record()
    return fetch(store, row, config["MODEL_CACHE_DIR"]) if row is not None else Path(config["MODEL_DIR"])


def promoted_meta(config) -> dict | None:
    """Version, metrics and training time of the bundle workers serve, without downloading it.

    From the registry row once a version is promoted, else from the starter's MODEL_DIR/meta.json
    (None when there is neither).
    """
    row = promoted_record()
    if row is not None:
        return {"version": row.version, "metrics": row.metrics or {}, "trained_at": str(row.created_at),
                "path": row.object_key}
    path = Path(config["MODEL_DIR"]) / "meta.json"
    if not path.is_file():
        return None
    meta = json.loads(path.read_text())
    version = meta.get("version") or meta.get("model_version") or path.parent.resolve().name
    return {"version": str(version), "metrics": meta.get("metrics") or {},
            "trained_at": meta.get("trained_at") or meta.get("created_at"), "path": str(path.parent)}


def get_version(version: str) -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.version == version))


def bundle_taxonomy(bundle_dir) -> dict:
    """The bundle's taxonomy as JSON: its ``taxonomy.json``, else (older bundles) built from the
    image model's value lists with the default rules."""
    d = Path(bundle_dir)
    if (d / "taxonomy.json").exists():
        return json.loads((d / "taxonomy.json").read_text())
    attrs = json.loads((d / "image" / "image_model.json").read_text())["attributes"]
    return DEFAULT.subset(()).extended(attrs).to_json()


def register(store, config, bundle_dir, status: str = "candidate", data_fingerprint=None,
             gate=None) -> ModelVersion:
    """Upload the bundle and record it; returns the row (committed)."""
    meta = json.loads((Path(bundle_dir) / "meta.json").read_text())
    version = str(meta["version"])
    key = bundle_key(config, version)
    store.write(key, pack(bundle_dir), "application/gzip")
    heads = (meta.get("metrics") or {}).get("heads") or {}
    label_set = {a: r.get("values_seen") for a, r in heads.items() if r.get("trained")} or \
        (meta.get("vocab") or {}).get("attributes")
    row = ModelVersion(version=version, object_key=key, status="candidate", metrics=meta.get("metrics"),
                       label_set=label_set, data_fingerprint=data_fingerprint, gate=gate,
                       taxonomy=bundle_taxonomy(bundle_dir))
    db.session.add(row)
    db.session.commit()
    if status == "promoted":
        promote(version)
    return row


def promote(version: str) -> ModelVersion:
    row = get_version(version)
    if row is None:
        raise RegistryRefused(f"no model version {version!r}")
    for current in db.session.scalars(select(ModelVersion).where(ModelVersion.status == "promoted",
                                                                 ModelVersion.id != row.id)):
        current.status = "retired"
    row.status, row.promoted_at = "promoted", utcnow()
    db.session.commit()
    taxonomy.forget()
    return row


def rollback() -> ModelVersion:
    """Promote the version promoted before the current one; the current one becomes `rolled_back`."""
    record = promoted_record()
    current = get_version(record.version) if record is not None else None
    if current is None:
        raise RegistryRefused("no version is promoted")
    previous = db.session.scalar(
        select(ModelVersion).where(ModelVersion.status == "retired", ModelVersion.promoted_at.is_not(None),
                                   ModelVersion.id != current.id)
        .order_by(ModelVersion.promoted_at.desc(), ModelVersion.id.desc()).limit(1))
    if previous is None:
        raise RegistryRefused(f"{current.version} is the only version ever promoted; nothing to roll back to")
    current.status = "rolled_back"
    previous.status = "promoted"  # promoted_at kept: it says when it first went live
    db.session.commit()
    taxonomy.forget()
    return previous


def ensure_bootstrap(store, config) -> ModelVersion | None:
    """Register the starter bundle in MODEL_DIR as the first, promoted version if none is registered."""
    if db.session.scalar(select(ModelVersion.id).limit(1)) is not None:
        return None
    model_dir = Path(config["MODEL_DIR"])
    if not (model_dir / "meta.json").exists():
        return None
    return register(store, config, model_dir, status="promoted")


def fetch(store, row, cache_dir) -> Path:
    """Local folder holding a version's bundle (a row with version and object_key), unpacked on first use."""
    dest = Path(cache_dir) / row.version
    if not (dest / "meta.json").exists():
        unpack(store.read(row.object_key), dest)
    return dest


def versions() -> list[ModelVersion]:
    """Every registered version, newest first."""
    return list(db.session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc(),
                                                                 ModelVersion.id.desc())))
