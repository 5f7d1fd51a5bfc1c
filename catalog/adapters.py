"""How Python values travel to PostgreSQL.

An aware datetime is sent in UTC. psycopg would send it with its own offset, and
PostgreSQL refuses offsets beyond ±15:59 that Python and Prefect accept (`+20:03`), so a
filter or an anchor date with one would fail in the database instead of working.
"""

from datetime import UTC, datetime


def send_aware_datetimes_in_utc() -> None:
    try:
        import psycopg
        from psycopg.types.datetime import DatetimeDumper
    except ImportError:  # SQLite only: nothing to adapt
        return

    class UtcDatetimeDumper(DatetimeDumper):
        def dump(self, obj: datetime) -> bytes:
            try:
                return str(obj.astimezone(UTC)).encode()
            except OverflowError:  # the first or last day Python knows: PostgreSQL's is wider
                return str(obj).encode()

    psycopg.adapters.register_dumper(datetime, UtcDatetimeDumper)
