"""The order a page of deployments is read in, made total.

Prefect sorts by one column (`name`, `-created`, `-updated`) and leaves ties to the
database, which may return them in another order at each query: pages read at two
offsets could then repeat a deployment and skip another. The catalog breaks ties with
the deployment's id, in the direction an index on `(column, id)` gives it when walked
forward or backward, so that a deep page is read from the index in order with no sort:
`name DESC` takes `id DESC`, as `(name, id)` walked backward yields, and the indexes
`(-created, id)` and `(-updated, id)` take `id` ascending beside the newest first.
"""

IDS = ("id", "pk")
# The id's direction after each leading column, as the indexes on (column, id) hold it.
TIE_BREAKS = {
    "name": "id",
    "-name": "-id",
    "-created": "id",
    "created": "-id",
    "-updated": "id",
    "updated": "-id",
}


def total_order(fields) -> list[str]:
    """`fields` (Django's `order_by` fields) with the deployment's id last, unless it is
    in them already."""
    fields = list(fields)
    if any(field.lstrip("-") in IDS for field in fields):
        return fields
    return [*fields, TIE_BREAKS.get(fields[-1], "id") if fields else "id"]
