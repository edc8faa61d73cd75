"""Numbers and JSON from the outside, kept inside what the database and the parser can take.

Ids are MySQL INT columns: a bigger number in a path is no row (404), never a driver error
(500). Page numbers past MAX_PAGE are past any real last page. JSON nested deeper than
MAX_JSON_DEPTH is refused as malformed (400) before Python's parser would hit its
recursion limit.
"""
import re

from flask import abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MAX_PAGE = 10_000
MAX_JSON_DEPTH = 32
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKETS = re.compile(r"[\[\]{}]")


class DatabaseId(IntegerConverter):
    """`<int:...>` in every route: 0 to MAX_ID, anything else does not match (404)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def database_id(value) -> int:
    """An id from a JSON body or a query string; ValueError unless 1 to MAX_ID."""
    number = int(value)
    if not 0 < number <= MAX_ID:
        raise ValueError(f"id out of range: {value!r}")
    return number


def page_number(name: str = "page") -> int:
    """?page=, at least 1; beyond MAX_PAGE there is nothing to show (404)."""
    page = request.args.get(name, 1, type=int)
    if page > MAX_PAGE:
        abort(404)
    return max(page, 1)


def json_depth(text: str) -> int:
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than MAX_JSON_DEPTH (a ValueError: 400)."""

    def loads(self, s, **kwargs):
        text = s.decode("utf-8", "replace") if isinstance(s, bytes | bytearray) else s
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return super().loads(s, **kwargs)


def init_bounds(app) -> None:
    """Called before the blueprints are registered, so every `<int:>` route uses DatabaseId."""
    app.url_map.converters["int"] = DatabaseId
    app.json = BoundedJSONProvider(app)
