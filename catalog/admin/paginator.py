"""A paginator that never counts a whole large table."""

from functools import cached_property

from django.core.paginator import Paginator
from django.db import connection

# Below this many rows an exact count is cheap; above it PostgreSQL's estimate is used.
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL an unfiltered list is counted from the planner's statistics
    (`pg_class.reltuples`), kept fresh by autovacuum; filtered lists count exactly."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            estimate = table_estimate(self.object_list.model._meta.db_table)
            if estimate > EXACT_COUNT_LIMIT:
                return estimate
        return super().count


def table_estimate(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0
