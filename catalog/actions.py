"""The request bodies the API accepts, validated as Prefect validates them.

These pydantic models mirror Prefect's action schemas field for field, so that a bad
body gets the very 422 Prefect gives: the same error `type`, `loc`, `msg` and `ctx`.
Class and validator names matter here: pydantic writes them into the `loc` of errors
inside the schedule union (`function-after[validate_timezone(), CronSchedule]`).
Every schedule rule itself comes from `catalog.schedules`.
"""

import json
import math
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from catalog import parameter_schemas, schedules

MAX_PARAMETERS_BYTES = 524_288
MAX_SCHEDULED_RUNS = 50
BANNED_CHARACTERS = "/%&><"
NAME_PATTERN = f"^[^{BANNED_CHARACTERS}]+$"
# Prefect's `TimeZone` type: an unanchored alternation of every zone name.
TIMEZONE_PATTERN = "|".join(sorted(schedules.available_timezones()))


# Names are stored in indexed columns of this width; Prefect sets no limit of its own.
ShortText = Annotated[str, Field(max_length=255)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=255)]
# Counts are stored in 32-bit integer columns.
MAX_INT = 2_147_483_647


class ActionModel(BaseModel):
    """A request body: unknown keys are refused, as in Prefect's `ActionBaseModel`."""

    model_config = ConfigDict(extra="forbid")


def now_utc() -> datetime:
    return datetime.now(UTC)


# Schedules -----------------------------------------------------------------------------


def positive_interval(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("interval must be positive")
    return value


def naive_as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def strict_timezone(value: str | None) -> str | None:
    """An IANA name, where Prefect's unanchored pattern would let `xxUTCxx` through."""
    return schedules.validate_timezone(value)


class IntervalSchedule(ActionModel):
    interval: Annotated[timedelta, AfterValidator(positive_interval)]
    anchor_date: Annotated[datetime, AfterValidator(naive_as_utc)] = Field(default_factory=now_utc)
    timezone: str | None = None

    @model_validator(mode="after")
    def validate_timezone(self) -> "IntervalSchedule":
        self.timezone = "UTC" if self.timezone is None else strict_timezone(self.timezone)
        return self

    def to_schedule(self) -> schedules.IntervalSchedule:
        return schedules.make_interval_schedule(
            interval=self.interval, anchor_date=self.anchor_date, timezone=self.timezone
        )


class CronSchedule(ActionModel):
    cron: str
    timezone: str | None = None
    day_or: bool = True

    @field_validator("cron")
    @classmethod
    def valid_cron_string(cls, value: str) -> str:
        return schedules.validate_cron_syntax(value)

    @model_validator(mode="after")
    def validate_timezone(self) -> "CronSchedule":
        self.timezone = strict_timezone(self.timezone)
        # Whether the expression ever fires depends on day_or, known only here.
        schedules.check_cron_fires(self.cron, self.day_or)
        return self

    def to_schedule(self) -> schedules.CronSchedule:
        return schedules.CronSchedule(self.cron, self.timezone, self.day_or)


class RRuleSchedule(ActionModel):
    rrule: str
    timezone: (
        Annotated[str, Field(pattern=TIMEZONE_PATTERN), AfterValidator(strict_timezone)] | None
    ) = "UTC"

    @field_validator("rrule")
    @classmethod
    def validate_rrule_str(cls, value: str) -> str:
        return schedules.validate_rrule(value)

    def to_schedule(self, now: datetime | None = None) -> schedules.RRuleSchedule:
        return schedules.RRuleSchedule(
            schedules.normalize_rrule(self.rrule, self.timezone, now), self.timezone
        )


ScheduleBody = IntervalSchedule | CronSchedule | RRuleSchedule


def at_most_max_scheduled_runs(value: int) -> int:
    if value > MAX_SCHEDULED_RUNS:
        raise ValueError(
            f"`max_scheduled_runs` must be less than or equal to {MAX_SCHEDULED_RUNS}."
        )
    return value


MaxScheduledRuns = Annotated[int, Field(gt=0), AfterValidator(at_most_max_scheduled_runs)]


class DeploymentScheduleCreate(ActionModel):
    active: bool = True
    schedule: ScheduleBody
    max_scheduled_runs: MaxScheduledRuns | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    slug: ShortText | None = None
    replaces: ShortText | None = None


class DeploymentScheduleUpdate(ActionModel):
    active: bool | None = None
    schedule: ScheduleBody | None = None
    max_scheduled_runs: MaxScheduledRuns | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    slug: ShortText | None = None
    replaces: ShortText | None = None


# Deployments ---------------------------------------------------------------------------


LabelValue = StrictBool | StrictInt | StrictFloat | str
Labels = dict[str, LabelValue]


def parameters_within_size(parameters: dict[str, Any]) -> dict[str, Any]:
    if not parameters:
        return parameters
    size = len(json.dumps(parameters, separators=(",", ":")).encode())
    if size > MAX_PARAMETERS_BYTES:
        raise ValueError(
            f"Flow run parameters must be less than {MAX_PARAMETERS_BYTES:,} bytes when "
            f"serialized (got {size:,} bytes)."
        )
    return parameters


SizedParameters = Annotated[dict[str, Any], AfterValidator(parameters_within_size)]


class CollisionStrategy(StrEnum):
    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


class ConcurrencyOptions(BaseModel):
    collision_strategy: CollisionStrategy
    grace_period_seconds: Annotated[int, Field(ge=60, le=86400)] | None = None


class VersionInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    version: str


# Keys older Prefect clients send; Prefect drops them silently.
OLD_DEPLOYMENT_KEYS = (
    "worker_pool_queue_id",
    "worker_pool_name",
    "worker_pool_queue_name",
    "work_pool_queue_name",
)


def without_old_keys(values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    return {key: value for key, value in values.items() if key not in OLD_DEPLOYMENT_KEYS}


def refuse_two_concurrency_limits(values: Any) -> Any:
    if (
        isinstance(values, dict)
        and values.get("concurrency_limit")
        and values.get("global_concurrency_limit_id")
    ):
        raise ValueError(
            "A deployment cannot have both a concurrency limit and a global concurrency limit."
        )
    return values


def empty_schema_as_object_schema(value: Any) -> Any:
    """Prefect 3.9 stores an empty parameter schema as an empty object schema."""
    return {"type": "object", "properties": {}} if value == {} else value


ParameterSchema = Annotated[dict[str, Any], BeforeValidator(empty_schema_as_object_schema)]


class DeploymentCreate(ActionModel):
    name: ShortText
    flow_id: UUID
    paused: bool = False
    schedules: list[DeploymentScheduleCreate] = Field(default_factory=list)
    concurrency_limit: Annotated[int, Field(gt=0, le=MAX_INT)] | None = None
    concurrency_options: ConcurrencyOptions | None = None
    global_concurrency_limit_id: UUID | None = None
    enforce_parameter_schema: bool = True
    parameter_openapi_schema: ParameterSchema | None = None
    parameters: SizedParameters = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    labels: Labels | None = Field(default_factory=dict)
    pull_steps: list[dict[str, Any]] | None = None
    work_queue_name: ShortText | None = None
    work_pool_name: ShortText | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    description: str | None = None
    path: str | None = None
    version: ShortText | None = None
    entrypoint: str | None = None
    job_variables: dict[str, Any] = Field(default_factory=dict)
    version_info: VersionInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def remove_old_fields(cls, values: Any) -> Any:
        return without_old_keys(values)

    @model_validator(mode="before")
    @classmethod
    def _validate_parameters_conform_to_schema(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        # Prefect writes the default into the very dict it was given, so the echoed
        # request body of a failed create shows `"parameters": {}` too.
        values["parameters"] = values.get("parameters", {})
        if values.get("enforce_parameter_schema"):
            parameter_schemas.check_parameters(
                values["parameters"], values.get("parameter_openapi_schema")
            )
            parameter_schemas.check_schema(values.get("parameter_openapi_schema"))
        return values

    @model_validator(mode="before")
    @classmethod
    def _validate_concurrency_limits(cls, values: Any) -> Any:
        return refuse_two_concurrency_limits(values)


class DeploymentUpdate(ActionModel):
    @model_validator(mode="before")
    @classmethod
    def remove_old_fields(cls, values: Any) -> Any:
        return without_old_keys(values)

    version: ShortText | None = None
    description: str | None = None
    paused: bool = False
    schedules: list[DeploymentScheduleUpdate] = Field(default_factory=list)
    concurrency_limit: Annotated[int, Field(gt=0, le=MAX_INT)] | None = None
    concurrency_options: ConcurrencyOptions | None = None
    global_concurrency_limit_id: UUID | None = None
    parameters: SizedParameters | None = None
    parameter_openapi_schema: ParameterSchema | None = None
    tags: list[str] = Field(default_factory=list)
    work_queue_name: ShortText | None = None
    work_pool_name: ShortText | None = None
    path: str | None = None
    job_variables: dict[str, Any] | None = None
    pull_steps: list[dict[str, Any]] | None = None
    entrypoint: str | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    enforce_parameter_schema: bool | None = None
    version_info: VersionInfo | None = None

    @model_validator(mode="before")
    @classmethod
    def _validate_concurrency_limits(cls, values: Any) -> Any:
        return refuse_two_concurrency_limits(values)


# Flows and concurrency limits ----------------------------------------------------------


class FlowCreate(ActionModel):
    name: Name
    tags: list[str] = Field(default_factory=list)
    labels: Labels | None = Field(default_factory=dict)


class FlowUpdate(ActionModel):
    tags: list[str] = Field(default_factory=list)


class ConcurrencyLimitCreate(ActionModel):
    active: bool = True
    name: Name
    limit: Annotated[int, Field(ge=0, le=MAX_INT)]
    active_slots: Annotated[int, Field(ge=0, le=MAX_INT)] = 0
    denied_slots: Annotated[int, Field(ge=0, le=MAX_INT)] = 0
    slot_decay_per_second: Annotated[float, Field(ge=0.0)] = 0


class ConcurrencyLimitUpdate(ActionModel):
    active: bool | None = None
    name: Name | None = None
    limit: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    active_slots: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    denied_slots: Annotated[int, Field(ge=0, le=MAX_INT)] | None = None
    slot_decay_per_second: Annotated[float, Field(ge=0.0)] | None = None


# Variables -----------------------------------------------------------------------------


MAX_VARIABLE_NAME_LENGTH = 255
MAX_VARIABLE_VALUE_LENGTH = 5000
VARIABLE_NAME_PATTERN = re.compile(r"^[a-z0-9-_]*$")
BAD_VARIABLE_NAME = (
    "Variable name must only contain lowercase letters, numbers, and dashes or underscores."
)
NOT_SERIALIZABLE = "Variable value must be serializable to JSON"
# What orjson, which Prefect measures values with, refuses to write.
MAX_JSON_DEPTH = 254
JSON_INTEGERS = range(-(2**63), 2**64)


def check_variable_name(value: str) -> str:
    """Prefect's rule, with `re.match` as Prefect uses it: `$` also matches before a final
    newline, and the empty name passes."""
    if not VARIABLE_NAME_PATTERN.match(value):
        raise ValueError(BAD_VARIABLE_NAME)
    return value


def check_variable_value(value: Any) -> Any:
    """At most 5,000 bytes of compact JSON (the message says characters, as Prefect's does)."""
    if value is not None and json_size(value) > MAX_VARIABLE_VALUE_LENGTH:
        raise ValueError(f"Variable value must be less than {MAX_VARIABLE_VALUE_LENGTH} characters")
    return value


def json_size(value: Any, depth: int = 1) -> int:
    """The bytes orjson writes for `value`; ValueError for what it cannot write. NaN and
    infinities are refused too: orjson writes them as null, but no JSON body can hold them."""
    if isinstance(value, list | dict):
        if depth > MAX_JSON_DEPTH:
            raise ValueError(NOT_SERIALIZABLE)
        if isinstance(value, list):
            parts = [json_size(item, depth + 1) for item in value]
        else:
            parts = [json_size(key) + 1 + json_size(item, depth + 1) for key, item in value.items()]
        return 2 + sum(parts) + max(len(parts) - 1, 0)
    if isinstance(value, int) and not isinstance(value, bool) and value not in JSON_INTEGERS:
        raise ValueError(NOT_SERIALIZABLE)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(NOT_SERIALIZABLE)
        return len(orjson_float(value))
    try:
        return len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, UnicodeEncodeError):
        raise ValueError(NOT_SERIALIZABLE) from None


def orjson_float(value: float) -> str:
    """A float as orjson writes it: Python's shortest digits, but 1.5e-05 is 0.000015 and
    exponents have no leading zeros (1e-07 is 1e-7)."""
    text = repr(value)
    mantissa, marker, exponent = text.partition("e")
    if not marker:
        return text
    if exponent == "-05":
        sign = "-" if mantissa.startswith("-") else ""
        return f"{sign}0.0000{mantissa.lstrip('-').replace('.', '')}"
    return f"{mantissa}e{exponent[0]}{exponent[1:].lstrip('0')}"


# The pattern is checked before the length, as Prefect orders them.
VariableName = Annotated[
    str, AfterValidator(check_variable_name), Field(max_length=MAX_VARIABLE_NAME_LENGTH)
]
VariableValue = Annotated[
    StrictStr | StrictInt | StrictBool | StrictFloat | dict[str, Any] | list[Any] | None,
    BeforeValidator(check_variable_value),
]


class VariableCreate(ActionModel):
    name: VariableName
    value: VariableValue
    tags: list[str] = Field(default_factory=list)


class VariableUpdate(ActionModel):
    """Only the keys sent are changed; `"value": null` sets the value to null."""

    name: VariableName | None = None
    value: VariableValue = None
    tags: list[str] | None = None
