"""Re-centring on the marketplace's own photos (ml/adapt.py): nothing moves below the minimum;
above it, a head fitted on one domain reads a shifted one as it read its own."""
import numpy as np

from ml.adapt import MIN_PHOTOS, Alignment, feature_mean
from ml.features import EXTRAS, head_input
from ml.heads import fit_head, predict


def _domain(rng, n, shift):
    """Two classes apart along dimension 0, every photo moved by ``shift`` (another domain's look)."""
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.05, (n, 1280)).astype(np.float32)
    x[:, 0] += np.where(y == 1, 1.0, -1.0)
    x[:, 3] += 6.0
    return x + shift, y


def test_a_shifted_domain_is_read_as_the_source_once_enough_photos_exist():
    rng = np.random.default_rng(0)
    shift = np.zeros(1280, np.float32)
    shift[0], shift[1] = 2.5, 3.0  # the target looks like class 1, and off to one side
    xs, ys = _domain(rng, 400, 0.0)
    xt, yt = _domain(rng, 300, shift)
    w, b = fit_head(head_input(xs)[:, None, :], ys, 2)
    plain = (predict(w, b, head_input(xt)).argmax(1) == yt).mean()

    alignment = Alignment(feature_mean(xs))
    assert not alignment.fit_target(xt[:MIN_PHOTOS - 1])  # too few: nothing moves
    assert not alignment.active and np.array_equal(alignment.apply(head_input(xt)), head_input(xt))
    assert alignment.fit_target(xt[:150])  # the statistics from photos other than those scored
    moved = (predict(w, b, alignment.apply(head_input(xt[150:]))).argmax(1) == yt[150:]).mean()
    assert plain < 0.7 < 0.9 < moved
    assert not alignment.fit_target(xt[:10]) and not alignment.active  # fewer again: back to none


def test_the_mean_is_taken_over_each_part_as_the_heads_read_it():
    rng = np.random.default_rng(1)
    feats = np.concatenate([rng.normal(size=(MIN_PHOTOS, 1280)) * 50, rng.random((MIN_PHOTOS, EXTRAS["colour"]))], 1)
    mean = feature_mean(feats, ("colour",))
    assert mean.shape == (1280 + EXTRAS["colour"],)
    np.testing.assert_allclose(mean, head_input(feats, ("colour",)).mean(0), rtol=1e-5)
