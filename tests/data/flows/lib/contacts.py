# ruff: noqa  (modules written as users write them)
"""Models imported by the flows, importing in turn from their own package."""

from typing import Annotated, Optional

from pydantic import BaseModel, Field

from .kinds import Channel
from lib.kinds import Priority


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str = "Paris"
    postcode: Annotated[str, Field(pattern=r"^\d{5}$", description="Five digits")] = "75001"


class Recipient(BaseModel):
    name: str = Field(..., min_length=1, max_length=80, description="Full name")
    email: str
    channel: Channel = Channel.EMAIL
    priority: Priority = Priority.NORMAL
    address: Optional[Address] = None
    tags: list[str] = Field(default_factory=list)


class Team(BaseModel):
    """People notified together."""

    name: str
    members: list[Recipient] = []
    lead: Recipient | None = None
    escalation: dict[str, Recipient] = {}
