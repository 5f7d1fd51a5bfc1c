# ruff: noqa  (flows written as users write them: legacy typing, mutable defaults)
"""Parameters typed with pydantic models, enums, dataclasses, TypedDicts and Literals."""

import dataclasses
import datetime
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal, Optional, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import NotRequired, TypedDict

from prefect import flow


class Region(str, Enum):
    EU = "eu"
    US = "us"


class Tier(IntEnum):
    """Service tier."""

    FREE = 0
    PRO = 1


class Contact(BaseModel):
    """Someone to tell.

    Used in lists and maps.
    """

    name: str = Field(..., min_length=1, max_length=80, description="Full name")
    email: str = Field(pattern=r"^[^@]+@[^@]+$")
    age: Optional[int] = Field(None, ge=0, le=150)
    weight: float = Field(70.0, gt=0, lt=500, multiple_of=0.5)
    nicknames: list[str] = Field(default_factory=list, max_length=5)
    region: Region = Region.EU
    tier: Tier = Tier.FREE
    kind: Literal["person", "team"] = "person"
    note: str = Field("", title="A note", examples=["call after 6"])


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Run schedule")

    every_minutes: Annotated[int, Field(ge=1, description="Minutes between runs")] = 60
    start: Optional[datetime.datetime] = None
    days: set[str] = set()
    window: tuple[int, int] = (9, 17)


class Report(BaseModel):
    title: str
    owner: Contact
    readers: list[Contact] = []
    by_region: dict[Region, list[Contact]] = {}
    schedule: Schedule = Schedule()
    backup: Union[Contact, str, None] = None
    meta: dict[str, Any] = {}
    ident: Optional[UUID] = None


class ExtendedReport(Report):
    """A report with an appendix."""

    appendix: str = "none"
    title: str = "untitled"


@dataclass
class Window:
    start_hour: int
    end_hour: int = 18
    days: list[str] = field(default_factory=list)
    region: Region = Region.US


@dataclasses.dataclass(frozen=True)
class Retry:
    """How to retry a failed send."""

    attempts: int = 3
    backoff: float = 1.5


class Limits(TypedDict):
    per_minute: int
    burst: NotRequired[int]


class Options(TypedDict, total=False):
    """Optional knobs."""

    verbose: bool
    tier: Tier


@flow(name="send-report")
def send_report(
    report: Report,
    contacts: list[Contact],
    extended: Optional[ExtendedReport] = None,
    region: Region = Region.US,
    tier: Tier = Tier.PRO,
    window: Window = None,
    retry: Retry = Retry(),
    limits: Optional[Limits] = None,
    options: Options = {},
    mode: Literal["dry", "live"] = "dry",
    by_region: dict[Region, list[Contact]] = {},
    schedule: Schedule = Schedule(every_minutes=15),
    first: Contact = Contact(name="Ada", email="ada@example.com"),
    count: Annotated[int, Field(ge=1, le=10, description="How many")] = 3,
    label: Annotated[str, Field(min_length=2)] = "weekly",
):
    """Send a report to its readers.

    Args:
        report: What to send.
        contacts: Who else gets it.
        mode: Dry runs send nothing.
    """


@flow
def one_model(contact: Contact):
    pass


@flow
def shared_definitions(a: Contact, b: list[Contact], c: dict[str, Contact] = {}, d: Window = None):
    pass
