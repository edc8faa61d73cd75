"""The attribute recipe ``flask ml train`` ships, in one place, so ``ml.crossval`` measures it.

Backbone and input size, the views each training photo contributes and the views averaged
at inference (ml/features.py), and the feature parts the heads read besides the embedding
(ml/features.py ``EXTRAS``). The backbone is not fine-tuned: ``python -m ml.crossval --finetune``
measures the cross-fitted fine-tuned recipe (ml/tuned_recipe.py) beside this one, and it lost
(docs/models.md). ``ml.train_catalog.train_bundle`` trains every catalogue version
with these, whatever its base bundle (the starter embeds at 192 px and its heads read the colour
part too; a head kept from a base keeps only its embedding's rows).
"""
from __future__ import annotations

from ml import zoom
from ml.features import TEST_VIEWS as FLIP_TEST_VIEWS
from ml.features import TRAIN_VIEWS

ARCH = "lite0"
IMAGE_SIZE = 224
EXTRAS: tuple[str, ...] = ()


def test_views(extras=()) -> tuple[str, ...]:
    """The views averaged at inference: the photo and its mirror image; with a crop round the
    piece (ml/zoom.py) the photo alone, the crop's pass taking the mirror's place (two backbone
    passes either way, the image path's speed budget)."""
    return ("plain",) if any(p in extras for p in zoom.PARTS) else FLIP_TEST_VIEWS


TEST_VIEWS = test_views(EXTRAS)

RECIPE = {"arch": ARCH, "image_size": IMAGE_SIZE, "train_views": list(TRAIN_VIEWS), "test_views": list(TEST_VIEWS),
          "extras": list(EXTRAS)}
