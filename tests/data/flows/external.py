# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Types from installed packages: the catalog cannot read their source."""

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Optional
from uuid import UUID

from httpx import URL
from prefect.client.schemas.objects import StateType

from prefect import flow


class Local:
    """A plain class: Prefect cannot describe it, and neither can the catalog."""


@flow
def fetch_pages(
    url: URL,
    state: StateType = StateType.COMPLETED,
    urls: list[URL] = [],
    maybe: Optional[URL] = None,
    local: Local = None,
    day: datetime.date = None,
    ident: UUID = None,
    where: Path = None,
    amount: Decimal = None,
):
    pass
