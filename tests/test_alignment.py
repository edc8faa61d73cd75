"""The worker's alignment to the marketplace's photos (workers/alignment.py): the mean of the
stored features of the serving version's photos, and none until there are enough."""
from types import SimpleNamespace

import numpy as np

from ml.adapt import MIN_PHOTOS, Alignment, feature_mean
from tests.support import register
from webapp.extensions import db
from webapp.listings.embeddings import record_embedding
from webapp.models import Photo, Product, User, new_id
from workers import alignment


def _photos(email: str, n: int) -> list[int]:
    owner = db.session.query(User).filter_by(email=email).one()
    product = Product(owner=owner, status="draft")
    photos = [Photo(product=product, object_key=f"media/uploads/{owner.id}/{new_id()}.jpg", content_type="image/jpeg")
              for _ in range(n)]
    db.session.add_all([product, *photos])
    db.session.commit()
    return [p.id for p in photos]


def _generator(version: str, source=None):
    model = SimpleNamespace(alignment=None if source is None else Alignment(source), feature_width=1280, extras=())
    return SimpleNamespace(model_version=version, image_model=model)


def test_worker_aligns_to_its_own_versions_photos_once_there_are_enough(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MODEL_CHECK_SECONDS", 0)
    register(client, "maker@example.com")
    rng = np.random.default_rng(3)
    source = feature_mean(rng.normal(size=(50, 1280)))
    with app.app_context():
        ids = _photos("maker@example.com", MIN_PHOTOS + 20)
        ours = rng.normal(size=(MIN_PHOTOS + 20, 1280)) + 3.0
        for pid, vector in zip(ids[:MIN_PHOTOS - 1], ours, strict=False):
            record_embedding(pid, vector, "starter-a")
        for pid in ids[MIN_PHOTOS - 1:]:  # another version's photos do not count
            record_embedding(pid, rng.normal(size=1280), "starter-b")
        db.session.commit()
        gen = _generator("starter-a", source)
        alignment.refresh(gen)
        assert not gen.image_model.alignment.active and gen.image_model.alignment.n_target == MIN_PHOTOS - 1

        for pid, vector in zip(ids[MIN_PHOTOS - 1:], ours[MIN_PHOTOS - 1:], strict=True):
            record_embedding(pid, vector, "starter-a")
        db.session.commit()
        alignment.refresh(gen)
        assert gen.image_model.alignment.active
        np.testing.assert_allclose(gen.image_model.alignment.target_mean, feature_mean(ours), atol=1e-3)

        trained = _generator("starter-a")  # a version trained on the marketplace's photos: no alignment
        alignment.refresh(trained)
        assert trained.image_model.alignment is None
