# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Enums defined next to the flow become definitions, as pydantic makes them."""

import enum
from enum import Enum, IntEnum
from typing import Literal, Optional

from prefect import flow


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"
    CRIMSON = "red"  # an alias, not a member


class Priority(IntEnum):
    """How urgent a run is.

    Higher runs first.
    """

    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    ONE = 1
    TEXT = "text"


@flow
def paint(
    color: Color = Color.BLUE,
    priority: Optional[Priority] = None,
    palette: list[Color] = [],
    by_color: dict[Color, int] = None,
    mixed: Mixed = Mixed.TEXT,
    pick: Literal[Color.RED] = Color.RED,
):
    pass
