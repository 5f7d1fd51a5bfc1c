# ruff: noqa  (modules written as users write them)
"""Enums shared by several modules."""

import enum
from enum import IntEnum


class Channel(str, enum.Enum):
    """How a message is sent."""

    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"


class Priority(IntEnum):
    LOW = 1
    NORMAL = 5
    HIGH = 10
