"""A pessimistic disconnect check that pings only a connection that sat idle in the pool.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout. Under load a connection goes back to
the pool and out again within milliseconds, and the ping then tells nothing new: the server
answered on that connection a moment ago. This check, through the pool's public ``checkout``
event, pings only a connection idle for ``IDLE_PING_SECONDS`` or more (the case pre-ping is for:
a database restarted, or an idle connection dropped by a proxy or the server's timeout) and,
as pre-ping does, answers a dead one with ``InvalidatePoolError``: the pool drops it and every
connection older than it and connects afresh, so the request never sees the dead one. A server
gone within that second is met by the request's own query, as it would be mid-query: it fails
(a 503, webapp/outages.py) and SQLAlchemy discards the pool's connections.
"""
import time

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError

IDLE_PING_SECONDS = 1.0


def ping_idle_connections(engine, idle_seconds: float = IDLE_PING_SECONDS) -> None:
    """Listen on ``engine``'s pool: ping at checkout a connection idle for ``idle_seconds``."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def note_idle(dbapi_connection, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def ping_if_idle(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")  # none yet: a connection made for this checkout
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if not dialect.is_disconnect(error, dbapi_connection, None):
                raise
            raise InvalidatePoolError(f"ping of an idle connection failed: {error}") from error
        if not alive:
            raise InvalidatePoolError("ping of an idle connection failed")
