"""Where catalogue rows come from: a folder with a labels CSV, or a marketplace's MySQL and S3.

Each reader yields ``(source_id, read_image, labels, description, tone, provenance)``;
``read_image()`` fetches the bytes only when the importer needs them.
"""
from __future__ import annotations

import csv
import re
from contextlib import contextmanager
from pathlib import Path

import boto3
import mysql.connector
from botocore.exceptions import ClientError

from webapp.storage import s3_credentials
from webapp.training_tables import LABEL_ATTRIBUTES as COLUMNS

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def folder_rows(labels_csv, images_root):
    """Rows of a CSV with ``path,category`` and any of the other attributes (``metal``, ``type``,
    ``finish``, ``stone_count``, ...; see webapp/training_tables.py), ``description`` and ``tone``;
    paths relative to the root."""
    root = Path(images_root).resolve()
    with open(labels_csv, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"path", "category"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{labels_csv} lacks the column(s) {', '.join(sorted(missing))}")
        rows = list(reader)

    def reader_for(rel):
        def read():
            path = (root / rel).resolve()
            if root not in path.parents or not path.is_file():
                return None  # outside the root or not there: reported as a missing image
            return path.read_bytes()
        return read

    for row in rows:
        rel = (row.get("path") or "").strip()
        yield (rel, reader_for(rel), {c: row.get(c) for c in COLUMNS}, row.get("description"),
               row.get("tone"), {"csv": Path(labels_csv).name, "path": rel})


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{name!r} is not a plain table or column name")
    return f"`{name}`"


def mysql_query(table: str, columns: dict[str, str | None]) -> str:
    """SELECT mapping the marketplace's own column names onto ours."""
    parts = [f"{_ident(col)} AS {_ident(ours)}" for ours, col in columns.items() if col]
    return f"SELECT {', '.join(parts)} FROM {_ident(table)} ORDER BY {_ident(columns['id'])}"


def mysql_rows(connection, query: str, s3, bucket: str, prefix: str, batch: int = 200):
    """Rows of ``query`` (columns id, image, category, optionally any other attribute, description
    and tone) with images from S3."""
    def reader_for(key):
        def read():
            if not key:
                return None
            full = key[5:].split("/", 1)[1] if key.startswith("s3://") else prefix + key.lstrip("/")
            try:
                return s3.get_object(Bucket=bucket, Key=full)["Body"].read()
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                    return None
                raise
        return read

    cursor = connection.cursor(dictionary=True)
    cursor.execute(query)
    while True:
        rows = cursor.fetchmany(batch)
        if not rows:
            break
        for row in rows:
            if "id" not in row or "image" not in row:
                raise ValueError("the query must return columns named id and image")
            image = (row.get("image") or "").strip() if isinstance(row.get("image"), str) else row.get("image")
            yield (row["id"], reader_for(image), {c: row.get(c) for c in COLUMNS}, row.get("description"),
                   row.get("tone"), {"row_id": str(row["id"]), "image": image})
    cursor.close()


def count_rows(connection, query: str) -> int | None:
    cursor = connection.cursor()
    try:
        cursor.execute(f"SELECT COUNT(*) FROM ({query}) AS source_rows")
        return int(cursor.fetchone()[0])
    except Exception:  # a query that cannot be wrapped: no total on the progress bar
        return None
    finally:
        cursor.close()


@contextmanager
def marketplace_rows(config, query: str, bucket: str, prefix: str):
    """``(rows, total)`` of ``query`` on the marketplace's MySQL (CATALOG_DB_*), photos from S3;
    the connection is closed on leaving the block."""
    conn = mysql.connector.connect(host=config["CATALOG_DB_HOST"], port=config["CATALOG_DB_PORT"],
                                   user=config["CATALOG_DB_USER"], password=config["CATALOG_DB_PASSWORD"],
                                   database=config["CATALOG_DB_NAME"])
    try:
        s3 = boto3.client("s3", endpoint_url=config.get("S3_ENDPOINT_URL"), region_name=config.get("AWS_REGION"),
                          **s3_credentials(config))
        yield mysql_rows(conn, query, s3, bucket, prefix), count_rows(conn, query)
    finally:
        conn.close()
