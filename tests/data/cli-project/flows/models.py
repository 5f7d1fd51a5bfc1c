"""Types the project's flows take as parameters."""

from dataclasses import dataclass
from enum import Enum

from pydantic import BaseModel, Field


class Region(str, Enum):  # noqa: UP042 (as users write it)
    EU = "eu-central-1"
    US = "us-east-1"


class Recipient(BaseModel):
    email: str
    name: str = "ops"


class LoadOptions(BaseModel):
    batch_size: int = Field(500, ge=1, le=10000, description="Rows per insert")
    recipients: list[Recipient] = []
    region: Region = Region.EU


@dataclass
class Window:
    days: int
    label: str = "daily"
