"""Reports sent to the business."""

from typing import Literal

from prefect import flow
from typing_extensions import TypedDict

from flows.models import Window


class Audience(TypedDict):
    team: str
    size: int


@flow(name="daily-report")
def daily_report(
    window: Window,
    audience: Audience,
    fmt: Literal["pdf", "html", "csv"] = "pdf",
    limit: int | None = 100,
):
    return window, audience, fmt, limit


@flow
def cleanup(older_than_days: int = 30, tables: dict[str, int] = {"orders": 7}):  # noqa: B006
    return older_than_days, tables
