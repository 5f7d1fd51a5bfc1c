"""Django's PostgreSQL backend, with a health check that costs no round trip.

With `CONN_HEALTH_CHECKS`, Django checks a kept connection before each request uses it,
by running `SELECT 1`: a round trip to the server on every request, as dear as the one
query that serves a kept deployment. A connection the server has dropped (a restart, a
fast shutdown, an idle timeout) has something waiting on its socket: the server's
farewell, or the end of the stream. A healthy idle connection has nothing, and then
the check is skipped; anything waiting gets Django's own check.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None or self.connection.closed:
            return False
        return not self.something_is_waiting() or super().is_usable()

    def something_is_waiting(self) -> bool:
        try:
            socket = self.connection.pgconn.socket
        except Exception:  # psycopg raises once the connection is gone
            return True
        readable, _, _ = select.select([socket], [], [], 0)
        return bool(readable)
