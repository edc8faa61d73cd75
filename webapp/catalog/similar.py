"""Photos alike, by their image embeddings, searched with usearch (an HNSW index).

One index per web process holds the embeddings of every published listing's photos. It is
rebuilt when the catalogue changes (the number of published photos with an embedding, or
the latest embedding or listing change), which is one cheap query per search. Two uses:
"more like this" on the public page, and on the review page, photos that are nearly the same
as a photo another artisan already has listed (a stolen or re-used photo).
"""
import threading

import numpy as np
from sqlalchemy import func, select
from usearch.index import Index

from webapp.extensions import db
from webapp.listings.embeddings import image_embedding
from webapp.models import Photo, PhotoEmbedding, Product

# Cosine distance, measured on the backbone's embeddings (docs/architecture.md, "Duplicate photos"):
# the same photo re-encoded at JPEG quality 60 or resized 480->300 px is 0.001 away, the same
# photo cropped by 4% on each side 0.09, a drawing of a different piece 0.69-0.89. Crops are
# missed at this limit; a lower false-alarm rate was preferred (a flag costs a reviewer's time).
DUPLICATE_PHOTO_DISTANCE = 0.05
_lock = threading.Lock()
_cache: dict = {}  # "index" -> (version, Index | None, {photo id: (product id, owner id)})


def _published():
    return (select(PhotoEmbedding.photo_id, Photo.product_id, Product.owner_id, PhotoEmbedding.vector)
            .join(Photo, Photo.id == PhotoEmbedding.photo_id).join(Product, Product.id == Photo.product_id)
            .where(Product.status == "approved"))


def _version() -> tuple:
    return tuple(db.session.execute(
        select(func.count(), func.max(PhotoEmbedding.created_at), func.max(Product.updated_at))
        .select_from(PhotoEmbedding).join(Photo, Photo.id == PhotoEmbedding.photo_id)
        .join(Product, Product.id == Photo.product_id).where(Product.status == "approved")).one())


def published_index():
    """(Index or None, {photo id: (product id, owner id)}) over the published photos."""
    version = _version()
    entry = _cache.get("index")
    if entry is not None and entry[0] == version:
        return entry[1], entry[2]
    with _lock:
        rows = db.session.execute(_published()).all()
        owners = {row.photo_id: (row.product_id, row.owner_id) for row in rows}
        index = None
        if rows:
            vectors = np.stack([image_embedding(row.vector) for row in rows])
            index = Index(ndim=vectors.shape[1], metric="cos", dtype="f16")
            index.add(np.array([row.photo_id for row in rows], np.uint64), vectors)
        _cache["index"] = (version, index, owners)
    return index, owners


def _neighbours(product, count: int):
    """(photo of this product, other photo id, cosine distance) for each of its photos' neighbours."""
    own = db.session.execute(select(PhotoEmbedding.photo_id, PhotoEmbedding.vector)
                             .join(Photo, Photo.id == PhotoEmbedding.photo_id)
                             .where(Photo.product_id == product.id)).all()
    index, owners = published_index()
    if index is None or not own:
        return [], owners
    queries = np.stack([image_embedding(row.vector) for row in own])
    found = index.search(queries, min(count, len(index)))
    out = []
    for (photo_id, _), keys, distances in zip(own, np.atleast_2d(found.keys), np.atleast_2d(found.distances),
                                              strict=True):
        out += [(photo_id, int(k), float(d)) for k, d in zip(keys, distances, strict=True)
                if int(k) in owners and owners[int(k)][0] != product.id]
    return out, owners


def similar_products(product, limit: int = 4) -> list[tuple[Product, str | None]]:
    """Other published listings whose photos look most like this one's, closest first."""
    found, owners = _neighbours(product, count=limit * 4 + 8)
    best: dict[int, float] = {}
    for _, other, distance in found:
        pid = owners[other][0]
        best[pid] = min(distance, best.get(pid, 2.0))
    ids = sorted(best, key=best.get)[:limit]
    if not ids:
        return []
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}
    return [(products[i], next((ph.thumbnail_key for ph in products[i].photos if ph.thumbnail_key), None))
            for i in ids if i in products]


def possible_duplicates(product) -> list[dict]:
    """This listing's photos nearly the same as a photo another artisan has published.

    Nearly the same means a cosine distance under DUPLICATE_PHOTO_DISTANCE (a re-encoded or
    resized copy of a photo; see the measurements above).
    """
    found, owners = _neighbours(product, count=8)
    out, seen = [], set()
    for photo_id, other, distance in sorted(found, key=lambda f: f[2]):
        other_product, other_owner = owners[other]
        if distance > DUPLICATE_PHOTO_DISTANCE or other_owner == product.owner_id:
            continue
        if (photo_id, other_product) not in seen:
            seen.add((photo_id, other_product))
            out.append({"photo_id": photo_id, "product_id": other_product, "owner_id": other_owner,
                        "distance": distance})
    return out
