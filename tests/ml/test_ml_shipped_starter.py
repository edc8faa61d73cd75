"""The starter shipped in models/starter loads and reproduces what it recorded when it was made."""
from pathlib import Path

from ml.starter_check import verify

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "starter"


def test_shipped_starter_reproduces_its_recorded_accuracy(weights_cache):
    recorded, measured, same = verify(SHIPPED, cache_dir=weights_cache)
    assert measured == recorded
    assert same >= 0.95  # a near tie may flip on another CPU; the accuracy may not
