"""Jewellery AI machine-learning package.

Importing ``ml`` (or ``ml.vocab``) is cheap and never pulls in TensorFlow: the web
process only needs the vocabularies.  The heavy pieces live in submodules
(``ml.listing``, ``ml.image_model``, ``ml.text_model``) and are imported on demand.
"""

__all__ = ["vocab"]
