"""A paginator that never counts more than EXACT_COUNT_LIMIT rows of a large list."""

import json
from functools import cached_property

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections

from catalog.models import Deployment
from catalog.models.pages import count_of, page_subquery

# Up to this many rows a count is exact; past it PostgreSQL's estimate is shown, marked
# as one ("about"), and counting costs the same at 10,000 rows as at 1,000,000.
EXACT_COUNT_LIMIT = 10_000


class EstimatedCountPaginator(Paginator):
    """On PostgreSQL, an unfiltered list is counted from the planner's statistics
    (`pg_class.reltuples`, kept fresh by autovacuum); a filtered one counts its first
    EXACT_COUNT_LIMIT + 1 matches only, and past that takes the planner's estimate of the
    matches (at least that many). `estimated` says whether `count` is an estimate.
    Elsewhere (SQLite, a small catalog) every count is exact."""

    estimated = False

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None or connections[self.object_list.db].vendor != "postgresql":
            return super().count
        if not query.where:
            estimate = table_estimate(self.object_list)
            if estimate > EXACT_COUNT_LIMIT:
                self.estimated = True
                return estimate
            return super().count
        matches = self.object_list.order_by().values("pk")
        counted = count_of(matches, EXACT_COUNT_LIMIT + 1)
        if counted <= EXACT_COUNT_LIMIT:
            return counted
        self.estimated = True
        return max(planner_estimate(matches), counted)

    def page(self, number):
        """The page; a page of deployments filtered by tags (or several queues) is read as
        the API reads it (`catalog.models.pages`): its ids from the indexes that lead with
        the tag, its rows by those ids, in one query."""
        rows = self.object_list
        if getattr(rows, "model", None) is not Deployment or not rows.query.order_by:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        # Never less than a page: asked for one row, PostgreSQL judges walking the name's
        # index for it cheap, and walks the whole index when a branch matches nothing.
        limit = max(top - bottom, self.per_page)
        ids = page_subquery(rows, list(rows.query.order_by), bottom, limit)
        if ids is None:
            return super().page(number)
        return self._get_page(rows.filter(pk__in=ids), number, self)


class PagedChangeList(ChangeList):
    """Django's list, whose rows are always read as a page: Django reads a list that fits
    on one page with its whole query, which for a search ORs the trigram indexes of each
    column searched (their posting lists grow with the catalog), where the paginator's
    page walks the name's rarest trigram. A list with no match reads no row."""

    def get_results(self, request) -> None:
        super().get_results(request)
        if self.multi_page or (self.show_all and self.can_show_all):
            return
        if self.result_count == 0:
            self.result_list = self.queryset.none()
        else:
            self.result_list = self.paginator.page(1).object_list


def table_estimate(queryset) -> int:
    table = queryset.model._meta.db_table
    with connections[queryset.db].cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row else 0


def planner_estimate(queryset) -> int:
    """The rows PostgreSQL's planner expects the query to return (EXPLAIN, not run)."""
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])
