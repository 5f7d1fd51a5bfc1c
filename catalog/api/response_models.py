"""The bodies the API answers with, as pydantic models, for the OpenAPI schema only.

The serializers write the bodies; these models describe them with Prefect's field names,
order, types, nullability, defaults and descriptions, so that the schema matches the one
a Prefect server publishes. Nothing validates or renders a body with them;
`tests/test_openapi.py` checks every captured Prefect answer against the schema.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from catalog.api.request_models import (
    ConcurrencyOptions,
    CronSchedule,
    IntervalSchedule,
    Labels,
    RRuleSchedule,
)
from catalog.models import ChangeKind, DeploymentStatus
from catalog.rules.limits import NAME_PATTERN
from catalog.services.context import ActorKind, Door

TAGS_EXAMPLE = ["tag-1", "tag-2"]
LABELS_EXAMPLE = {"key": "value1", "key2": 42}
LABELS_DESCRIPTION = (
    "A dictionary of key-value labels. Values can be strings, numbers, or booleans."
)


class Stored(BaseModel):
    """What every stored object has: an id and its creation and update times."""

    id: UUID
    created: datetime | None
    updated: datetime | None


# Flows ---------------------------------------------------------------------------------


class Flow(Stored):
    """A flow, which deployments run."""

    name: str = Field(
        pattern=NAME_PATTERN, description="The name of the flow", examples=["my-flow"]
    )
    tags: list[str] = Field(
        default_factory=list, description="A list of flow tags", examples=[TAGS_EXAMPLE]
    )
    labels: Labels | None = Field(
        default_factory=dict, description=LABELS_DESCRIPTION, examples=[LABELS_EXAMPLE]
    )


class FlowPaginationResponse(BaseModel):
    results: list[Flow]
    count: int
    limit: int
    pages: int
    page: int


# Deployments ---------------------------------------------------------------------------


class CreatedBy(BaseModel):
    """Who created an object."""

    id: UUID | None = Field(default=None, description="The id of the creator of the object.")
    type: str | None = Field(default=None, description="The type of the creator of the object.")
    display_value: str | None = Field(
        default=None, description="The display value for the creator."
    )


class UpdatedBy(BaseModel):
    """Who last updated an object."""

    id: UUID | None = Field(default=None, description="The id of the updater of the object.")
    type: str | None = Field(default=None, description="The type of the updater of the object.")
    display_value: str | None = Field(
        default=None, description="The display value for the updater."
    )


class DeploymentSchedule(Stored):
    deployment_id: UUID | None = Field(
        default=None, description="The deployment id associated with this schedule."
    )
    schedule: IntervalSchedule | CronSchedule | RRuleSchedule = Field(
        description="The schedule for the deployment."
    )
    active: bool = Field(default=True, description="Whether or not the schedule is active.")
    max_scheduled_runs: int | None = Field(
        default=None,
        gt=0,
        description="The maximum number of scheduled runs for the schedule.",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="A dictionary of parameter value overrides."
    )
    slug: str | None = Field(default=None, description="A unique slug for the schedule.")


class GlobalConcurrencyLimitResponse(Stored):
    """A global concurrency limit, as a deployment and the limit routes show it."""

    active: bool = Field(
        default=True, description="Whether the global concurrency limit is active."
    )
    name: str = Field(description="The name of the global concurrency limit.")
    limit: int = Field(description="The concurrency limit.")
    active_slots: int = Field(description="The number of active slots.")
    slot_decay_per_second: float = Field(
        default=2.0, description="The decay rate for active slots when used as a rate limit."
    )


class DeploymentResponse(Stored):
    name: str = Field(description="The name of the deployment.")
    version: str | None = Field(default=None, description="An optional version for the deployment.")
    description: str | None = Field(default=None, description="A description for the deployment.")
    flow_id: UUID = Field(description="The flow id associated with the deployment.")
    paused: bool = Field(default=False, description="Whether or not the deployment is paused.")
    schedules: list[DeploymentSchedule] = Field(
        default_factory=list, description="A list of schedules for the deployment."
    )
    concurrency_limit: int | None = Field(
        default=None,
        deprecated=True,
        description=(
            "DEPRECATED: Prefer `global_concurrency_limit`. Will always be None for "
            "backwards compatibility. Will be removed after December 2024."
        ),
    )
    global_concurrency_limit: GlobalConcurrencyLimitResponse | None = Field(
        default=None,
        description=(
            "The global concurrency limit object for enforcing the maximum number of flow "
            "runs that can be active at once."
        ),
    )
    concurrency_options: ConcurrencyOptions | None = Field(
        default=None, description="The concurrency options for the deployment."
    )
    job_variables: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides to apply to the base infrastructure block at runtime.",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters for flow runs scheduled by the deployment.",
    )
    tags: list[str] = Field(
        default_factory=list,
        description="A list of tags for the deployment",
        examples=[TAGS_EXAMPLE],
    )
    labels: Labels = Field(
        default_factory=dict, description=LABELS_DESCRIPTION, examples=[LABELS_EXAMPLE]
    )
    work_queue_name: str | None = Field(
        default=None,
        description=(
            "The work queue for the deployment. If no work queue is set, work will not be "
            "scheduled."
        ),
    )
    work_queue_id: UUID | None = Field(
        default=None,
        description="The id of the work pool queue to which this deployment is assigned.",
    )
    last_polled: datetime | None = Field(
        default=None, description="The last time the deployment was polled for status updates."
    )
    parameter_openapi_schema: dict[str, Any] | None = Field(
        default=None,
        description="The parameter schema of the flow, including defaults.",
        json_schema_extra={"additionalProperties": True},
    )
    path: str | None = Field(
        default=None,
        description=(
            "The path to the working directory for the workflow, relative to remote storage "
            "or an absolute path."
        ),
    )
    pull_steps: list[dict[str, Any]] | None = Field(
        default=None, description="Pull steps for cloning and running this deployment."
    )
    entrypoint: str | None = Field(
        default=None,
        description="The path to the entrypoint for the workflow, relative to the `path`.",
    )
    storage_document_id: UUID | None = Field(
        default=None, description="The block document defining storage used for this flow."
    )
    infrastructure_document_id: UUID | None = Field(
        default=None,
        description="The block document defining infrastructure to use for flow runs.",
    )
    created_by: CreatedBy | None = Field(
        default=None, description="Optional information about the creator of this deployment."
    )
    updated_by: UpdatedBy | None = Field(
        default=None, description="Optional information about the updater of this deployment."
    )
    work_pool_name: str | None = Field(
        default=None, description="The name of the deployment's work pool."
    )
    status: DeploymentStatus | None = Field(
        default=DeploymentStatus.NOT_READY,
        description="Whether the deployment is ready to run flows.",
    )
    enforce_parameter_schema: bool = Field(
        default=True,
        description="Whether or not the deployment should enforce the parameter schema.",
    )


class DeploymentPaginationResponse(BaseModel):
    results: list[DeploymentResponse]
    count: int
    limit: int
    pages: int
    page: int


class DeploymentPage(BaseModel):
    """A page of `GET /deployments/`, the catalog's own listing."""

    count: int = Field(description="How many deployments match, over all pages.")
    next: str | None = Field(description="The URL of the next page, if any.")
    previous: str | None = Field(description="The URL of the previous page, if any.")
    results: list[DeploymentResponse]


class DeploymentBulkDeleteResponse(BaseModel):
    """The ids of the deployments deleted."""

    deleted: list[UUID] = Field(default_factory=list)


# A deployment's change history (the catalog's own routes) -----------------------------


class ChangeActor(BaseModel):
    """Who made a change."""

    kind: ActorKind = Field(description="An API key, a Django user, an import, or the catalog.")
    name: str = Field(
        description="The user's name, the key's name and prefix, or the import's source.",
        examples=["ci-deploy (pcat_AbC1234…)"],
    )
    id: str | None = Field(description="The user's or the key's id.")


class ValueChange(BaseModel):
    """One value a change changed, at its JSON path in the deployment's body."""

    path: str = Field(examples=["schedules[slug=daily].schedule.cron"])
    old: Any = Field(description="Before the change; null when there was none.")
    new: Any = Field(description="After the change; null when there is none.")


class DeploymentHistoryEntry(BaseModel):
    """One version of a deployment: who changed it, through which door, why, and what."""

    version: int = Field(ge=1, description="The version's number, from 1 for each deployment.")
    at: datetime
    kind: ChangeKind
    actor: ChangeActor
    door: Door = Field(description="Where the change came in.")
    reason: str | None = Field(description="Why, as the writer said (X-Change-Reason).")
    change_set: UUID = Field(
        description="Everything the same request, import or command wrote shares it."
    )
    restored_from: int | None = Field(description="The version a restore brought back.")
    changes: list[ValueChange] = Field(
        description="Each value changed; a whole body's values when created or deleted."
    )


class DeploymentHistoryPage(BaseModel):
    """A page of a deployment's versions, newest first."""

    count: int = Field(description="How many versions the deployment has.")
    next: str | None = Field(description="The URL of the next page, if any.")
    previous: str | None = Field(description="The URL of the previous page, if any.")
    results: list[DeploymentHistoryEntry]


# Global concurrency limits -------------------------------------------------------------


class ConcurrencyLimitV2(Stored):
    """A global concurrency limit with its slot statistics."""

    active: bool = Field(default=True, description="Whether the concurrency limit is active.")
    name: str = Field(pattern=NAME_PATTERN, description="The name of the concurrency limit.")
    limit: int = Field(description="The concurrency limit.")
    active_slots: int = Field(default=0, description="The number of active slots.")
    denied_slots: int = Field(default=0, description="The number of denied slots.")
    slot_decay_per_second: float = Field(
        default=0, description="The decay rate for active slots when used as a rate limit."
    )
    avg_slot_occupancy_seconds: float = Field(
        default=2.0, description="The average amount of time a slot is occupied."
    )


# Work pools and queues -----------------------------------------------------------------


class WorkPoolStatus(StrEnum):
    """Whether a work pool's workers are polling it, or it is paused."""

    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkQueueStatus(StrEnum):
    """Whether a work queue is polled, or paused."""

    READY = "READY"
    NOT_READY = "NOT_READY"
    PAUSED = "PAUSED"


class WorkPoolStorageConfiguration(BaseModel):
    """Where a work pool's workers upload and run flow code bundles."""

    model_config = ConfigDict(extra="forbid")

    bundle_upload_step: dict[str, Any] | None = Field(
        default=None, description="The step to use for uploading bundles to storage."
    )
    bundle_execution_step: dict[str, Any] | None = Field(
        default=None, description="The step to use for executing bundles."
    )
    default_result_storage_block_id: UUID | None = Field(
        default=None,
        description="The block document ID of the default result storage block.",
    )


class WorkPoolResponse(Stored):
    name: str = Field(pattern=NAME_PATTERN, description="The name of the work pool.")
    description: str | None = Field(default=None, description="A description of the work pool.")
    type: str = Field(description="The work pool type.")
    base_job_template: dict[str, Any] = Field(
        default_factory=dict, description="The work pool's base job template."
    )
    is_paused: bool = Field(
        default=False, description="Pausing the work pool stops the delivery of all work."
    )
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="A concurrency limit for the work pool."
    )
    status: WorkPoolStatus | None = Field(
        default=None, description="The current status of the work pool."
    )
    default_queue_id: UUID | None = Field(
        default=None, description="The id of the pool's default queue."
    )
    storage_configuration: WorkPoolStorageConfiguration = Field(
        default_factory=WorkPoolStorageConfiguration,
        description="The storage configuration for the work pool.",
    )
    active_slots: int | None = Field(
        default=None,
        description=(
            "The number of concurrency slots occupied by pending or running flow runs. "
            "None when concurrency_limit is not set."
        ),
    )


class QueueFilter(BaseModel):
    """A work queue's old filter; deprecated by Prefect and always null here."""

    tags: list[str] | None = Field(
        default=None, description="Only include flow runs with these tags in the work queue."
    )
    deployment_ids: list[UUID] | None = Field(
        default=None,
        description="Only include flow runs from these deployments in the work queue.",
    )


class WorkQueueResponse(Stored):
    name: str = Field(pattern=NAME_PATTERN, description="The name of the work queue.")
    description: str | None = Field(
        default="", description="An optional description for the work queue."
    )
    is_paused: bool = Field(default=False, description="Whether or not the work queue is paused.")
    concurrency_limit: int | None = Field(
        default=None, ge=0, description="An optional concurrency limit for the work queue."
    )
    priority: int = Field(
        default=1,
        gt=0,
        description="The queue's priority. Lower values are higher priority (1 is the highest).",
    )
    work_pool_id: UUID | None = Field(
        default=None, description="The work pool with which the queue is associated."
    )
    filter: QueueFilter | None = Field(
        default=None,
        deprecated=True,
        description="DEPRECATED: Filter criteria for the work queue.",
    )
    last_polled: datetime | None = Field(
        default=None, description="The last time an agent polled this queue for work."
    )
    work_pool_name: str | None = Field(
        default=None, description="The name of the work pool the work pool resides within."
    )
    status: WorkQueueStatus | None = Field(default=None, description="The queue status.")
    active_slots: int | None = Field(
        default=None,
        description=(
            "The number of concurrency slots currently in use. None when concurrency_limit "
            "is not set."
        ),
    )


class WorkQueueHealthPolicy(BaseModel):
    maximum_late_runs: int | None = Field(
        default=0, description="The maximum number of late runs in the work queue."
    )
    maximum_seconds_since_last_polled: int | None = Field(
        default=60,
        description=(
            "The maximum number of time in seconds elapsed since work queue has been polled."
        ),
    )


class WorkQueueStatusDetail(BaseModel):
    healthy: bool = Field(description="Whether or not the work queue is healthy.")
    late_runs_count: int = Field(
        default=0, description="The number of late flow runs in the work queue."
    )
    last_polled: datetime | None = Field(
        default=None, description="The last time an agent polled this queue for work."
    )
    health_check_policy: WorkQueueHealthPolicy = Field(
        description="The policy used to determine whether or not the work queue is healthy."
    )


# Variables -----------------------------------------------------------------------------


class Variable(Stored):
    name: str = Field(
        max_length=255, description="The name of the variable", examples=["my-variable"]
    )
    value: str | int | bool | float | dict[str, Any] | list[Any] | None = Field(
        description="The value of the variable", examples=["my-value"]
    )
    tags: list[str] = Field(
        default_factory=list, description="A list of variable tags", examples=[TAGS_EXAMPLE]
    )


# Service routes and errors -------------------------------------------------------------


class ReadyResponse(BaseModel):
    message: str = Field(examples=["OK"])


class HTTPError(BaseModel):
    """An error the route itself answers: what went wrong, in words."""

    detail: str = Field(examples=["Deployment not found"])


class ValidationError(BaseModel):
    """One problem with a request, as pydantic reports it."""

    type: str = Field(title="Error Type")
    loc: list[str | int] = Field(title="Location")
    msg: str = Field(title="Message")
    input: Any = None
    ctx: dict[str, Any] = Field(default_factory=dict, title="Context")


class RequestValidationError(BaseModel):
    """A request the route could not read: every problem found, and the body as sent."""

    exception_message: str = Field(examples=["Invalid request received."])
    exception_detail: list[ValidationError]
    request_body: Any = None


class ObjectNotFound(BaseModel):
    """What Prefect's server answers for a missing object on the routes that raise its
    own not-found error (a missing automation), rather than a route's `detail`."""

    exception_message: str = Field(examples=["Automation not found"])
