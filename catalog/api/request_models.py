"""The request bodies the API accepts, validated as Prefect validates them.

These pydantic models mirror Prefect's action schemas field for field, so that a bad
body gets the very 422 Prefect gives: the same error `type`, `loc`, `msg` and `ctx`.
Class and validator names matter here: pydantic writes them into the `loc` of errors
inside the schedule union (`function-after[validate_timezone(), CronSchedule]`).
Every schedule rule itself comes from `catalog.rules.schedules`.
"""

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
    RootModel,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from catalog.api.query_limits import IdValues
from catalog.rules import limits, schedules
from catalog.rules import parameters as parameter_schemas
from catalog.rules.datetimes import DatetimeError, check_utc_range

# Prefect's `TimeZone` type: an unanchored alternation of every zone name.
TIMEZONE_PATTERN = "|".join(sorted(schedules.available_timezones()))


TAGS_EXAMPLE = ["tag-1", "tag-2"]
TIMEZONE_EXAMPLE = "America/New_York"

# Names are stored in indexed columns of this width; Prefect sets no limit of its own.
ShortText = Annotated[str, Field(max_length=limits.NAME_MAX_LENGTH)]
Name = Annotated[str, Field(pattern=limits.NAME_PATTERN, max_length=limits.NAME_MAX_LENGTH)]
Tags = Annotated[
    list[Annotated[str, Field(max_length=limits.MAX_TAG_LENGTH)]],
    Field(max_length=limits.MAX_TAGS),
]


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
    """Naive as UTC; an aware value must have a UTC instant Python can hold."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        check_utc_range(value)
    except DatetimeError as exc:
        raise ValueError(str(exc)) from None
    return value


def strict_timezone(value: str | None) -> str | None:
    """An IANA name, where Prefect's unanchored pattern would let `xxUTCxx` through."""
    return schedules.validate_timezone(value)


# Read from seconds, an ISO 8601 duration or HH:MM:SS; always written as float seconds.
Interval = Annotated[
    timedelta,
    AfterValidator(positive_interval),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0.0}, {"type": "string"}]},
        mode="validation",
    ),
    WithJsonSchema({"type": "number"}, mode="serialization"),
]


class IntervalSchedule(ActionModel):
    """Runs every `interval` seconds from `anchor_date` (now, if not given). Whole days
    keep their wall-clock time across DST changes in `timezone`; shorter intervals are
    elapsed time."""

    interval: Interval
    anchor_date: Annotated[datetime, AfterValidator(naive_as_utc)] = Field(
        default_factory=now_utc, examples=["2020-01-01T00:00:00Z"]
    )
    timezone: str | None = Field(default=None, examples=[TIMEZONE_EXAMPLE])

    @model_validator(mode="after")
    def validate_timezone(self) -> "IntervalSchedule":
        zone = self.timezone
        self.timezone = (
            schedules.default_timezone("interval") if zone is None else strict_timezone(zone)
        )
        return self

    def to_schedule(self) -> schedules.IntervalSchedule:
        return schedules.make_interval_schedule(
            interval=self.interval, anchor_date=self.anchor_date, timezone=self.timezone
        )


class CronSchedule(ActionModel):
    """Runs at the times a cron expression names, in `timezone` (UTC if null)."""

    cron: str = Field(examples=["0 0 * * *"])
    timezone: str | None = Field(default=None, examples=[TIMEZONE_EXAMPLE])
    day_or: bool = Field(
        default=True,
        description="Control croniter behavior for handling day and day_of_week entries.",
    )

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
    """Runs at the times an iCalendar recurrence rule (RFC 5545) names, in `timezone`."""

    rrule: str
    timezone: (
        Annotated[
            str,
            Field(pattern=TIMEZONE_PATTERN, examples=[TIMEZONE_EXAMPLE]),
            AfterValidator(strict_timezone),
        ]
        | None
    ) = schedules.DEFAULT_TIMEZONES["rrule"]

    @field_validator("rrule")
    @classmethod
    def validate_rrule_str(cls, value: str) -> str:
        return schedules.validate_rrule(value)

    def to_schedule(self) -> schedules.RRuleSchedule:
        """As given: the write core gives it an explicit DTSTART when it stores it."""
        return schedules.RRuleSchedule(self.rrule, self.timezone)


ScheduleBody = IntervalSchedule | CronSchedule | RRuleSchedule


MaxScheduledRuns = Annotated[int, Field(gt=0), AfterValidator(limits.check_max_scheduled_runs)]


ACTIVE_DESCRIPTION = "Whether or not the schedule is active."
SCHEDULE_DESCRIPTION = "The schedule for the deployment."
MAX_SCHEDULED_RUNS_DESCRIPTION = "The maximum number of scheduled runs for the schedule."
SCHEDULE_PARAMETERS_DESCRIPTION = "A dictionary of parameter value overrides."
SLUG_DESCRIPTION = "A unique identifier for the schedule."
REPLACES_DESCRIPTION = (
    "The slug of an existing schedule that this schedule replaces. Used for renaming slugs."
)


class DeploymentScheduleCreate(ActionModel):
    active: bool = Field(default=True, description=ACTIVE_DESCRIPTION)
    schedule: ScheduleBody = Field(description=SCHEDULE_DESCRIPTION)
    max_scheduled_runs: MaxScheduledRuns | None = Field(
        default=None, description=MAX_SCHEDULED_RUNS_DESCRIPTION
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description=SCHEDULE_PARAMETERS_DESCRIPTION
    )
    slug: ShortText | None = Field(default=None, description=SLUG_DESCRIPTION)
    replaces: ShortText | None = Field(default=None, description=REPLACES_DESCRIPTION)


class DeploymentScheduleUpdate(ActionModel):
    active: bool | None = Field(default=None, description=ACTIVE_DESCRIPTION)
    schedule: ScheduleBody | None = Field(default=None, description=SCHEDULE_DESCRIPTION)
    max_scheduled_runs: MaxScheduledRuns | None = Field(
        default=None, description=MAX_SCHEDULED_RUNS_DESCRIPTION
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description=SCHEDULE_PARAMETERS_DESCRIPTION
    )
    slug: ShortText | None = Field(default=None, description=SLUG_DESCRIPTION)
    replaces: ShortText | None = Field(default=None, description=REPLACES_DESCRIPTION)


# Deployments ---------------------------------------------------------------------------


LabelValue = StrictBool | StrictInt | StrictFloat | str
Labels = dict[str, LabelValue]


SizedParameters = Annotated[dict[str, Any], AfterValidator(limits.check_parameters)]


class ConcurrencyLimitStrategy(StrEnum):
    """What happens to a new run when the deployment's concurrency limit is full."""

    ENQUEUE = "ENQUEUE"
    CANCEL_NEW = "CANCEL_NEW"


class ConcurrencyOptions(BaseModel):
    """How a deployment's concurrency limit treats runs past the limit."""

    collision_strategy: ConcurrencyLimitStrategy
    grace_period_seconds: Annotated[int, Field(ge=60, le=86400)] | None = Field(
        default=None,
        description=(
            "Grace period in seconds for infrastructure to start before concurrency slots "
            "are revoked. If not set, falls back to server setting."
        ),
    )


class VersionInfo(BaseModel):
    """Where this version of a deployment comes from; any further keys are kept."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="The type of version info.")
    version: str = Field(description="The version of the deployment.")


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


PAUSED_DESCRIPTION = "Whether or not the deployment is paused."
SCHEDULES_DESCRIPTION = "A list of schedules for the deployment."
CONCURRENCY_LIMIT_DESCRIPTION = "The deployment's concurrency limit."
CONCURRENCY_OPTIONS_DESCRIPTION = "The deployment's concurrency options."
GLOBAL_CONCURRENCY_LIMIT_ID_DESCRIPTION = (
    "The ID of the global concurrency limit to apply to the deployment."
)
ENFORCE_PARAMETER_SCHEMA_DESCRIPTION = (
    "Whether or not the deployment should enforce the parameter schema."
)
PARAMETER_OPENAPI_SCHEMA_DESCRIPTION = "The parameter schema of the flow, including defaults."
PARAMETERS_DESCRIPTION = "Parameters for flow runs scheduled by the deployment."
DEPLOYMENT_TAGS_DESCRIPTION = "A list of deployment tags."
LABELS_DESCRIPTION = (
    "A dictionary of key-value labels. Values can be strings, numbers, or booleans."
)
LABELS_EXAMPLE = {"key": "value1", "key2": 42}
WORK_POOL_NAME_DESCRIPTION = "The name of the deployment's work pool."
JOB_VARIABLES_DESCRIPTION = "Overrides for the flow's infrastructure configuration."
VERSION_INFO_DESCRIPTION = "A description of this version of the deployment."
PositiveCount = Annotated[int, Field(gt=0, le=limits.MAX_INT)]


class DeploymentCreate(ActionModel):
    """A new deployment, or the new state of the deployment of this flow and name."""

    name: ShortText = Field(description="The name of the deployment.", examples=["my-deployment"])
    flow_id: UUID = Field(description="The ID of the flow associated with the deployment.")
    paused: bool = Field(default=False, description=PAUSED_DESCRIPTION)
    schedules: list[DeploymentScheduleCreate] = Field(
        default_factory=list, description=SCHEDULES_DESCRIPTION
    )
    concurrency_limit: PositiveCount | None = Field(
        default=None, description=CONCURRENCY_LIMIT_DESCRIPTION
    )
    concurrency_options: ConcurrencyOptions | None = Field(
        default=None, description=CONCURRENCY_OPTIONS_DESCRIPTION
    )
    global_concurrency_limit_id: UUID | None = Field(
        default=None, description=GLOBAL_CONCURRENCY_LIMIT_ID_DESCRIPTION
    )
    enforce_parameter_schema: bool = Field(
        default=True, description=ENFORCE_PARAMETER_SCHEMA_DESCRIPTION
    )
    parameter_openapi_schema: ParameterSchema | None = Field(
        default=None,
        description=PARAMETER_OPENAPI_SCHEMA_DESCRIPTION,
        json_schema_extra={"additionalProperties": True},
    )
    parameters: SizedParameters = Field(default_factory=dict, description=PARAMETERS_DESCRIPTION)
    tags: Tags = Field(
        default_factory=list, description=DEPLOYMENT_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )
    labels: Labels | None = Field(
        default_factory=dict, description=LABELS_DESCRIPTION, examples=[LABELS_EXAMPLE]
    )
    pull_steps: list[dict[str, Any]] | None = None
    work_queue_name: ShortText | None = None
    work_pool_name: ShortText | None = Field(
        default=None, description=WORK_POOL_NAME_DESCRIPTION, examples=["my-work-pool"]
    )
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    description: str | None = None
    path: str | None = None
    version: ShortText | None = None
    entrypoint: str | None = None
    job_variables: dict[str, Any] = Field(
        default_factory=dict, description=JOB_VARIABLES_DESCRIPTION
    )
    version_info: VersionInfo | None = Field(default=None, description=VERSION_INFO_DESCRIPTION)

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
    """The keys of a deployment to change; the rest keep their values."""

    @model_validator(mode="before")
    @classmethod
    def remove_old_fields(cls, values: Any) -> Any:
        return without_old_keys(values)

    version: ShortText | None = None
    description: str | None = None
    paused: bool = Field(default=False, description=PAUSED_DESCRIPTION)
    schedules: list[DeploymentScheduleUpdate] = Field(
        default_factory=list, description=SCHEDULES_DESCRIPTION
    )
    concurrency_limit: PositiveCount | None = Field(
        default=None, description=CONCURRENCY_LIMIT_DESCRIPTION
    )
    concurrency_options: ConcurrencyOptions | None = Field(
        default=None, description=CONCURRENCY_OPTIONS_DESCRIPTION
    )
    global_concurrency_limit_id: UUID | None = Field(
        default=None, description=GLOBAL_CONCURRENCY_LIMIT_ID_DESCRIPTION
    )
    parameters: SizedParameters | None = Field(default=None, description=PARAMETERS_DESCRIPTION)
    parameter_openapi_schema: ParameterSchema | None = Field(
        default=None, description=PARAMETER_OPENAPI_SCHEMA_DESCRIPTION
    )
    tags: Tags = Field(
        default_factory=list, description=DEPLOYMENT_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )
    work_queue_name: ShortText | None = None
    work_pool_name: ShortText | None = Field(
        default=None, description=WORK_POOL_NAME_DESCRIPTION, examples=["my-work-pool"]
    )
    path: str | None = None
    job_variables: dict[str, Any] | None = Field(
        default=None, description=JOB_VARIABLES_DESCRIPTION
    )
    pull_steps: list[dict[str, Any]] | None = None
    entrypoint: str | None = None
    storage_document_id: UUID | None = None
    infrastructure_document_id: UUID | None = None
    enforce_parameter_schema: bool | None = Field(
        default=None, description=ENFORCE_PARAMETER_SCHEMA_DESCRIPTION
    )
    version_info: VersionInfo | None = Field(default=None, description=VERSION_INFO_DESCRIPTION)

    @model_validator(mode="before")
    @classmethod
    def _validate_concurrency_limits(cls, values: Any) -> Any:
        return refuse_two_concurrency_limits(values)


# Flows and concurrency limits ----------------------------------------------------------


FLOW_TAGS_DESCRIPTION = "A list of flow tags"


class FlowCreate(ActionModel):
    """A new flow; a flow of that name already there is answered unchanged."""

    name: Name = Field(description="The name of the flow", examples=["my-flow"])
    tags: Tags = Field(
        default_factory=list, description=FLOW_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )
    labels: Labels | None = Field(
        default_factory=dict, description=LABELS_DESCRIPTION, examples=[LABELS_EXAMPLE]
    )


class FlowUpdate(ActionModel):
    """A flow's new tags."""

    tags: Tags = Field(
        default_factory=list, description=FLOW_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )


Count = Annotated[int, Field(ge=0, le=limits.MAX_INT)]
DecayRate = Annotated[float, Field(ge=0.0)]


class ConcurrencyLimitV2Create(ActionModel):
    """A new global concurrency limit."""

    active: bool = Field(default=True, description="Whether the concurrency limit is active.")
    name: Name = Field(description="The name of the concurrency limit.")
    limit: Count = Field(description="The concurrency limit.")
    active_slots: Count = Field(default=0, description="The number of active slots.")
    denied_slots: Count = Field(default=0, description="The number of denied slots.")
    slot_decay_per_second: DecayRate = Field(
        default=0, description="The decay rate for active slots when used as a rate limit."
    )


class ConcurrencyLimitV2Update(ActionModel):
    """The keys of a global concurrency limit to change."""

    active: bool | None = None
    name: Name | None = None
    limit: Count | None = None
    active_slots: Count | None = None
    denied_slots: Count | None = None
    slot_decay_per_second: DecayRate | None = None


# Worker polls ---------------------------------------------------------------------------


class ScheduledFlowRunsPoll(ActionModel):
    """A worker's poll for the scheduled runs of some deployments."""

    deployment_ids: IdValues = Field(description="The deployment IDs to get scheduled runs for")
    scheduled_before: datetime | None = Field(
        default=None, description="The maximum time to look for scheduled flow runs"
    )
    limit: int | None = None


# Variables -----------------------------------------------------------------------------


# The pattern is checked before the length, as Prefect orders them.
VariableName = Annotated[
    str,
    AfterValidator(limits.check_variable_name_pattern),
    Field(max_length=limits.MAX_VARIABLE_NAME_LENGTH),
]
VariableValue = Annotated[
    StrictStr | StrictInt | StrictBool | StrictFloat | dict[str, Any] | list[Any] | None,
    BeforeValidator(limits.check_variable_value),
]


VARIABLE_NAME_DESCRIPTION = "The name of the variable"
VARIABLE_VALUE_DESCRIPTION = "The value of the variable"
VARIABLE_TAGS_DESCRIPTION = "A list of variable tags"


class VariableCreate(ActionModel):
    """A new variable."""

    name: VariableName = Field(description=VARIABLE_NAME_DESCRIPTION, examples=["my_variable"])
    value: VariableValue = Field(description=VARIABLE_VALUE_DESCRIPTION, examples=["my-value"])
    tags: Tags = Field(
        default_factory=list, description=VARIABLE_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )


class VariableUpdate(ActionModel):
    """Only the keys sent are changed; `"value": null` sets the value to null."""

    name: VariableName | None = None
    value: VariableValue = Field(
        default=None, description=VARIABLE_VALUE_DESCRIPTION, examples=["my-value"]
    )
    tags: Tags | None = Field(
        default=None, description=VARIABLE_TAGS_DESCRIPTION, examples=[TAGS_EXAMPLE]
    )


# What the write core takes ---------------------------------------------------------------


def given(model: BaseModel) -> dict[str, Any]:
    """The keys a request sent, with their parsed values: nested models as mappings and
    each schedule as a `Schedule` of `catalog.rules.schedules`, for `catalog.services`."""
    return {name: plain(getattr(model, name)) for name in model.model_fields_set}


def plain(value: Any) -> Any:
    if isinstance(value, IntervalSchedule | CronSchedule | RRuleSchedule):
        return value.to_schedule()
    if isinstance(value, BaseModel):
        return given(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    return value


class UnreadBody(RootModel[dict[str, Any]]):
    """A body a route requires, as Prefect's does, but does not read: the catalog refuses
    the request whatever it holds (a flow run, an automation)."""
