# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Postponed annotations: Prefect evaluates them, and falls back when one cannot be."""

from __future__ import annotations

import datetime
import typing
from typing import TYPE_CHECKING, Optional

from prefect import flow

if TYPE_CHECKING:
    from decimal import Decimal


@flow
def resolvable(day: datetime.date, maybe: Optional[int] = None, items: list[str] = []):
    pass


@flow
def falls_back(
    amount: Decimal,
    day: Optional[datetime.date] = None,
    count: typing.Optional[int] = None,
    items: list[str] = [],
    either: int | None = None,
    mapping: dict[str, typing.Any] = {},
):
    """When one annotation cannot be evaluated, pydantic sees strings it resolves alone."""
