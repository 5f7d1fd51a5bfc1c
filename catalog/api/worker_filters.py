"""The body of `POST /work_pools/{name}/workers/filter`: Prefect's worker filter, checked
as Prefect checks it, though the catalog keeps no workers and so matches none."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from catalog.api.filters import FilterBody, FilterModel, Limit, NonNegative, Operator
from catalog.api.query_limits import values_within_budget


class WorkerStatus(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"


def prefect_datetime(value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
    """Pydantic's datetime, then any ISO 8601 text, as Prefect's `DateTime` reads one;
    text neither reads is refused with Prefect's own words."""
    try:
        return handler(value)
    except ValidationError:
        if not isinstance(value, str):
            raise PydanticCustomError("value_error", "value is not a valid datetime") from None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"Unable to parse string [{value}]") from None


Instant = Annotated[datetime, WrapValidator(prefect_datetime)]
Statuses = Annotated[list[WorkerStatus], BeforeValidator(values_within_budget)]


class WorkerFilterStatus(FilterModel):
    any_: Statuses | None = None
    not_any_: Statuses | None = None


class WorkerFilterLastHeartbeatTime(FilterModel):
    before_: Instant | None = None
    after_: Instant | None = None


class WorkerFilter(FilterModel):
    operator: Operator = Operator.and_
    last_heartbeat_time: WorkerFilterLastHeartbeatTime | None = None
    status: WorkerFilterStatus | None = None


class WorkersFilterBody(FilterBody):
    workers: WorkerFilter | None = None
    offset: NonNegative = 0
    limit: Limit = 200
