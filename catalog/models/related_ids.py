"""Filters on a related row's column, answered with that row's ids: one rule for every
door that filters deployments (the API's filter bodies and listing, the admin's filters).

A filter such as `flows.name.any_`, `work_pools.name.any_` or `work_queue_name.any_` names
a few flows or work queues out of many deployments. Joined, or read in an `IN (subquery)`,
it left PostgreSQL guessing how many deployments match; at a million deployments it
guessed many, walked the `(name, id)` index and tested each row in turn. Given the ids
themselves, it reads its statistics of `flow_id` / `work_queue_id` and takes the index
that leads with them. Looking the ids up costs one small query of its own.
"""

from django.db.models import Q, QuerySet

# More ids than this go to the database as a subquery, as they did before.
MAX_LISTED_IDS = 1000


def one_of(field: str, rows: QuerySet) -> Q:
    """`field` (a foreign key's column, e.g. `flow_id`) is the id of one of `rows`."""
    ids = list(rows.order_by().values_list("id", flat=True)[: MAX_LISTED_IDS + 1])
    if len(ids) > MAX_LISTED_IDS:
        return Q(**{f"{field}__in": rows.values("id")})
    if len(ids) == 1:
        # `=`, not `= ANY(…)` of one id: only an equality lets PostgreSQL read the rows
        # in the order of the index that leads with the column (no sort of every match).
        return Q(**{field: ids[0]})
    # No id: an empty `IN`, which Django answers without a query on both databases.
    return Q(**{f"{field}__any": ids}) if ids else Q(pk__in=[])
