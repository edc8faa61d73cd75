"""What both stores raise when an object is not the one the caller pinned."""


class ObjectChanged(Exception):
    """The object's ETag is no longer the one given: it was written again since (a replayed upload form)."""
