"""Loading orders into the warehouse."""

from typing import Literal, Optional

from prefect import flow

from flows.models import LoadOptions, Recipient, Region


@flow(name="load-orders", description="Load the day's orders into the warehouse.")
def load_orders(
    tables: list[str],
    options: LoadOptions,
    region: Region = Region.EU,
    notify: Optional[list[Recipient]] = None,  # noqa: UP045 (as users write it)
    mode: Literal["append", "replace"] = "append",
):
    """Load orders.

    Args:
        tables: the tables to load
        mode: how rows are written
    """
    return tables


@flow(name="backfill-orders", version="2.1")
def backfill(start: str, end: str, dry_run: bool = False):
    return start, end, dry_run
