"""MySQL Connector/Python without the server round trips that a request does not need.

The pure-Python driver (the one in use wherever its C extension cannot load, e.g. on a
system OpenSSL older than the one the wheel was built against) pays a network round trip
to MySQL for two things that need none:

- it sends a PING each time a cursor is opened, so every query cost two round trips. The
  pool already pings a connection when a request checks it out (``pool_pre_ping``), and a
  connection that dies after that fails on its next statement with the same
  OperationalError the ping would have raised;
- a request's session ends with a ROLLBACK and the pool sends another one when the
  connection comes back. The server flags every reply while a transaction is open, so a
  ROLLBACK with no transaction open (the flag clear, no unread result) is skipped.

The pool's own ping at checkout is skipped too when the server answered on this connection
less than ``RECENT_REPLY_SECONDS`` ago: under load every connection is in constant use and
the ping told nothing new. A connection idle for longer (the case pre-ping is for: a server
restarted or an idle connection dropped by a proxy) is still pinged and replaced if dead.
Should the server go away within that second, the request fails as it would have mid-query
and SQLAlchemy discards the pool's connections.

Before this a status poll made 11 round trips for its 4 queries; now 3.
"""
import time
from functools import cache

from sqlalchemy import event

RECENT_REPLY_SECONDS = 1.0


@cache
def connection_class():
    """A MySQLConnection that skips the per-cursor PING and ROLLBACKs with nothing to undo."""
    from mysql.connector.connection import MySQLConnection

    class FewerRoundTripsConnection(MySQLConnection):
        _opening_cursor = False
        _last_reply = float("-inf")

        def _send_cmd(self, *args, **kwargs):
            packet = super()._send_cmd(*args, **kwargs)
            self._last_reply = time.monotonic()
            return packet

        def ping(self, reconnect=False, attempts=1, delay=0):
            if (not reconnect and self._socket is not None
                    and time.monotonic() - self._last_reply < RECENT_REPLY_SECONDS):
                return
            super().ping(reconnect, attempts, delay)

        def cursor(self, *args, **kwargs):
            self._opening_cursor = True
            try:
                return super().cursor(*args, **kwargs)
            finally:
                self._opening_cursor = False

        def is_connected(self) -> bool:
            if self._opening_cursor:
                return self._socket is not None
            return super().is_connected()

        def rollback(self) -> None:
            if self._socket is not None and not self.in_transaction and not self.unread_result:
                return
            super().rollback()

    return FewerRoundTripsConnection


def use_fewer_round_trips(engine) -> bool:
    """Make ``engine`` open such connections; only for the pure-Python mysql-connector driver."""
    if engine.dialect.driver != "mysqlconnector":
        return False
    from mysql.connector import HAVE_CEXT

    if HAVE_CEXT:  # the C extension's connections are left as they are
        return False

    @event.listens_for(engine, "do_connect")
    def connect(dialect, connection_record, cargs, cparams):
        return connection_class()(*cargs, **cparams)

    return True
