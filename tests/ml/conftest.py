"""Shared fixtures: one tiny starter bundle per test session (trained in seconds)."""
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def weights_cache(tmp_path_factory):
    """A private cache so tests never depend on (or write to) the user's ~/.cache."""
    return tmp_path_factory.mktemp("ml-cache")


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, weights_cache):
    from ml.train_starter import train

    out = tmp_path_factory.mktemp("bundle") / "tiny"
    meta = train(str(out), tiny=True, seed=0, cache_dir=weights_cache, progress=False)
    return out, meta


@pytest.fixture(scope="session")
def generator(tiny_bundle, weights_cache):
    from ml.listing import ListingGenerator

    return ListingGenerator.load(tiny_bundle[0], cache_dir=weights_cache)
