# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""A nightly ETL pipeline, as a team would write it."""

import datetime
from datetime import date
from typing import Any, Dict, List, Optional

from prefect import flow, task

DEFAULT_TABLES = ["orders", "customers"]
BATCH_SIZE = 500


@task
def extract(source_url: str, table: str) -> list[dict]:
    return []


@flow(name="daily-etl", log_prints=True, retries=2)
def daily_etl(
    source_url: str,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    run_date: date | None = None,
    tables: list[str] = DEFAULT_TABLES,
    threshold: float = 0.95,
):
    """Copy yesterday's rows from the source into the warehouse.

    Rows are loaded in batches; a dry run only counts them.

    Args:
        source_url: Where the rows come from, as a SQLAlchemy URL.
        batch_size: How many rows go in one INSERT.
        dry_run: Count the rows without loading them.
        run_date (date, optional): The day to load; yesterday when
            not given.
        tables: Which tables to copy.

    Returns:
        The number of rows loaded.
    """
    for table in tables:
        extract(source_url, table)


@flow
def backfill_orders(
    start: datetime.date,
    end: datetime.date,
    *,
    chunk_days: int = 7,
    overwrite: bool = False,
    since: Optional[datetime.datetime] = None,
):
    """Reload orders between two days, a chunk at a time."""


@flow(retries=1)
async def sync_inventory(warehouse_ids: List[int], options: Dict[str, Any] = {}, region="eu"):
    """
    Synchronise stock levels with every warehouse.

    Indented docstrings are cleaned the way inspect.getdoc cleans them.
    """


@flow()
def cleanup_temp_files(days=30, pattern="*.tmp", verbose=None, patterns=("*.bak", "*.swp")):
    pass
