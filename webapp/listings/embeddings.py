"""Photo embeddings as stored: float16 bytes, one row per photo (webapp.models.PhotoEmbedding).

float16 halves the row and the index in the web process; cosine distances between photos
change by well under 0.001, far below the gaps that matter for "alike" or "the same photo".
"""
import numpy as np

from webapp.extensions import db
from webapp.models import PhotoEmbedding, utcnow


def to_bytes(vector) -> bytes:
    return np.asarray(vector, np.float32).astype(np.float16).tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.float16).astype(np.float32)


IMAGE_EMBEDDING_DIM = 1280  # a stored row may carry the attribute heads' extra parts after it (ml/features.py)


def image_embedding(data: bytes) -> np.ndarray:
    """The photo's 1280-d backbone embedding from a stored row, without the heads' extra parts:
    what "more like this" and the duplicate check compare, the same width in every version."""
    return from_bytes(data)[:IMAGE_EMBEDDING_DIM]


def record_embedding(photo_id: int, vector, model_version: str) -> None:
    """Save (or replace) a photo's embedding in the current transaction."""
    db.session.merge(PhotoEmbedding(photo_id=photo_id, vector=to_bytes(vector), model_version=model_version,
                                    created_at=utcnow()))
