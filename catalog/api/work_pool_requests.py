"""The request bodies of the work pool routes, validated as Prefect validates them:
`POST /work_pools/` (`WorkPoolCreate`) and `PATCH /work_pools/{name}` (`WorkPoolUpdate`).

Both check a base job template with Prefect's rule (`catalog.rules.job_templates`) and a
storage configuration with Prefect's model, so a bad one is the very 422 Prefect gives.
"""

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, field_validator

from catalog.api.request_models import ActionModel, Count, Name
from catalog.api.response_models import WorkPoolStorageConfiguration
from catalog.rules import limits
from catalog.rules.job_templates import check_base_job_template

STORAGE_DESCRIPTION = "The storage configuration for the work pool."


class WorkPoolCreate(ActionModel):
    """A new work pool; it gets a `default` queue."""

    name: Name = Field(description="The name of the work pool.")
    description: str | None = Field(default=None, description="The work pool description.")
    type: str = Field(default="prefect-agent", description="The work pool type.")
    base_job_template: dict[str, Any] = Field(
        default_factory=dict, description="The work pool's base job template."
    )
    is_paused: bool = Field(
        default=False, description="Pausing the work pool stops the delivery of all work."
    )
    concurrency_limit: Count | None = Field(
        default=None, description="A concurrency limit for the work pool."
    )
    storage_configuration: WorkPoolStorageConfiguration = Field(
        default_factory=WorkPoolStorageConfiguration, description=STORAGE_DESCRIPTION
    )

    @field_validator("base_job_template")
    @classmethod
    def validate_base_job_template(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_base_job_template(value)

    def values(self) -> dict[str, Any]:
        """The pool's columns, for `catalog.services.work_pools`."""
        return {**self.model_dump(), **storage_of(self)}


class WorkPoolUpdate(ActionModel):
    """The keys of a work pool to change; only the keys sent are changed. `null` clears
    a description or a concurrency limit; the write core refuses it for the rest."""

    description: str | None = None
    is_paused: bool | None = None
    base_job_template: dict[str, Any] | None = None
    concurrency_limit: Count | None = None
    storage_configuration: WorkPoolStorageConfiguration | None = Field(
        default=None, description=STORAGE_DESCRIPTION
    )

    @field_validator("base_job_template")
    @classmethod
    def validate_base_job_template(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Prefect's server fails on a null template (a 500); the write core refuses it.
        return value if value is None else check_base_job_template(value)

    def changes(self) -> dict[str, Any]:
        """The keys sent, with their values, for `catalog.services.work_pools`."""
        return {**self.model_dump(exclude_unset=True), **storage_of(self)}


def storage_of(body: WorkPoolCreate | WorkPoolUpdate) -> dict[str, Any]:
    """The storage configuration sent, as JSON (its block id a string), with only the
    keys sent, as Prefect stores it."""
    if "storage_configuration" not in body.model_fields_set:
        return {} if isinstance(body, WorkPoolUpdate) else {"storage_configuration": {}}
    storage = body.storage_configuration
    dumped = storage if storage is None else storage.model_dump(mode="json", exclude_unset=True)
    return {"storage_configuration": dumped}


Priority = Annotated[int, Field(gt=0, le=limits.MAX_INT)]


class WorkQueueCreate(ActionModel):
    """A new queue of a pool (`POST /work_pools/{name}/queues`)."""

    name: Name = Field(description="The name of the work queue.")
    description: str | None = Field(default="", description="An optional description.")
    is_paused: bool = Field(default=False, description="Whether the work queue is paused.")
    concurrency_limit: Count | None = Field(
        default=None, description="A concurrency limit for the work queue."
    )
    priority: Priority | None = Field(
        default=None, description="The queue's priority; 1 is the highest."
    )
    filter: dict[str, Any] | None = Field(
        default=None, description="DEPRECATED: Filter criteria for the work queue."
    )

    def values(self) -> dict[str, Any]:
        """The queue's columns, for `catalog.services.work_pools`."""
        return self.model_dump(exclude={"filter"})


class WorkQueueUpdate(ActionModel):
    """The keys of a work queue to change (`PATCH /work_queues/{id}`); only the keys
    sent are changed."""

    name: str | None = None
    description: str | None = None
    is_paused: bool = False
    concurrency_limit: Count | None = None
    priority: Priority | None = None
    last_polled: datetime | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
