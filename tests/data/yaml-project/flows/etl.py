"""A flow file for the importer's tests: read, never run."""

from datetime import date

from prefect import flow

raise SystemExit("importing this module would be a bug: the importer only reads it")


@flow(name="nightly-etl", description="Loads the day's extracts.", version="2.4.1")
def load(tables: list[str], full_refresh: bool = False, day: date | None = None) -> None:
    """Ignored: the decorator's description wins."""


@flow
def backfill_window(start: str, end: str = "today", batch_size: int = 500):
    """Re-runs a window of days.

    The docstring is the flow's description.
    """
