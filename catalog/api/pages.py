"""One page of a filtered list of deployments, read so that its cost does not grow with
the catalog.

A filter naming several queues or flows (`work_queue_name.any_: ["default"]` names the
"default" queue of every pool) gives `work_queue_id = ANY(ids)`. No index returns those
rows in name order, so PostgreSQL either sorted every match or walked the `(name, id)`
index testing each row: at a million deployments, half a million rows. On PostgreSQL such
a page is read as a union of one branch per id, each the first `offset + limit` rows of
the index `(work_queue_id | flow_id, name, id)` (or `created`, `updated` for those
sorts), of which the page is then cut: at most
(ids x (offset + limit)) rows, whatever the number of deployments. Other filters stay in
each branch; the rows and their order are those of the plain query.
"""

from django.db import connection
from django.db.models import QuerySet
from django.db.models.lookups import Exact

from catalog.models.lookups import AnyOf

SPREAD_COLUMNS = ("flow_id", "work_queue_id")
# Past this many ids, one query over all of them (the branches would cost more).
MAX_BRANCHES = 64
# Leading columns of the orders that indexes `(flow_id | work_queue_id, column, id)` serve.
INDEXED_ORDERS = ("name", "created", "updated")


def page_ids(matching: QuerySet, order: list[str], offset: int, limit: int) -> list:
    """The ids of `matching` (a filtered queryset of deployments) in `order`, from
    `offset`, at most `limit` of them."""
    columns = [field.lstrip("-") for field in order]
    indexed = bool(columns) and columns[0] in INDEXED_ORDERS
    spread = spread_condition(matching) if indexed else None
    if spread is None or not connection.features.supports_slicing_ordering_in_compound:
        return list(matching.order_by(*order)[offset : offset + limit].values_list("id", flat=True))
    position, condition = spread
    selected = ["id", *(column for column in columns if column != "id")]
    branches = [
        branch(matching, position, condition, value)
        .order_by(*order)
        .values_list(*selected)[: offset + limit]
        for value in condition.rhs
    ]
    union = branches[0].union(*branches[1:], all=True).order_by(*order)
    return [row[0] for row in union[offset : offset + limit]]


def spread_condition(matching: QuerySet) -> tuple[int, AnyOf] | None:
    """A condition all rows must meet (`AND`ed at the top) that is `column = ANY(ids)` of
    a few ids on a column an index leads with, and its position."""
    where = matching.query.where
    if where.connector != "AND" or where.negated:
        return None
    for position, child in enumerate(where.children):
        if (
            isinstance(child, AnyOf)
            and getattr(child.lhs, "target", None) is not None
            and child.lhs.target.column in SPREAD_COLUMNS
            and 1 < len(child.rhs) <= MAX_BRANCHES
        ):
            return position, child
    return None


def branch(matching: QuerySet, position: int, condition: AnyOf, value) -> QuerySet:
    """`matching` with `column = value` in place of `column = ANY(ids)`."""
    one = matching.all()
    one.query.where = one.query.where.clone()
    one.query.where.children[position] = Exact(condition.lhs, value)
    return one
