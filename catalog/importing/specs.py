"""Records as specifications of what to write: a deployment (only what its record gives),
its schedules, and the flows, limits, pools and queues records describe. Each value is
read for its type here; its rules are the write core's (`catalog.services`), asked for
every record before anything is written."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from catalog.importing.records import MISSING, Record, RecordError
from catalog.importing.values import (
    as_actor,
    as_datetime,
    as_labels,
    as_name,
    as_pull_steps,
    as_string_list,
    as_text,
    as_type,
    as_uuid,
    checked,
    get,
)
from catalog.models import (
    DEFAULT_AGENT_POOL,
    DEFAULT_POOL_TYPE,
    DEFAULT_QUEUE,
    ConcurrencyLimit,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import limits, schedules
from catalog.rules.problems import Problem, joined
from catalog.rules.schedule_budget import page_budget
from catalog.services.deployment_rules import deployment_problems
from catalog.services.errors import Invalid
from catalog.services.flows import flow_problems
from catalog.services.limits import limit_problems
from catalog.services.schedules import entry_problems, schedule_from
from catalog.services.variables import variable_problems
from catalog.services.work_pools import pool_problems, queue_problems


@dataclass(frozen=True)
class WorkTarget:
    pool_name: str
    queue_name: str
    queue_id: uuid.UUID | None


@dataclass
class ScheduleSpec:
    schedule: schedules.Schedule
    id: uuid.UUID | None = None
    created: datetime | None = None
    updated: datetime | None = None
    active: bool | None = None
    max_scheduled_runs: Any = MISSING
    parameters: Any = MISSING
    slug: str | None = None
    # An interval without an anchor starts now; matched to a stored schedule, it keeps
    # the stored anchor instead, so that importing it again changes nothing.
    anchored: bool = True


@dataclass
class DeploymentSpec:
    """A deployment as a record gives it: `values` holds only the fields it gives."""

    record: Record
    name: str
    id: uuid.UUID | None = None
    flow_id: uuid.UUID | None = None
    flow_name: str | None = None
    created: datetime | None = None
    updated: datetime | None = None
    values: dict[str, Any] = field(default_factory=dict)
    labels: Any = MISSING
    schedules: list[ScheduleSpec] | None = None
    limit: Any = MISSING  # a ConcurrencyLimit, None to unlink, or MISSING
    deprecated_limit: Any = MISSING  # an int, None to remove, or MISSING
    work_target: Any = MISSING  # a WorkTarget, None to unassign, or MISSING


# Fields read as they are: the record's key, and how to read its value's type. Their
# rules are the write core's, checked once the whole record is read.
PLAIN_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "version": lambda v, w: as_text(v, w),
    "description": lambda v, w: as_text(v, w),
    "paused": lambda v, w: as_type(v, bool, w),
    "job_variables": lambda v, w: as_type(v, dict, w),
    "parameters": lambda v, w: as_type(v, dict, w),
    "tags": as_string_list,
    "last_polled": lambda v, w: as_datetime(v, w, nullable=True),
    "parameter_openapi_schema": lambda v, w: as_type(v, dict, w, nullable=True),
    "path": lambda v, w: as_text(v, w),
    "pull_steps": as_pull_steps,
    "entrypoint": lambda v, w: as_text(v, w),
    "storage_document_id": lambda v, w: as_uuid(v, w, nullable=True),
    "infrastructure_document_id": lambda v, w: as_uuid(v, w, nullable=True),
    "created_by": as_actor,
    "updated_by": as_actor,
    "status": lambda v, w: as_text(v, w, nullable=False),
    "enforce_parameter_schema": lambda v, w: as_type(v, bool, w),
}


def refuse_first(problems: list[Problem], where: str = "") -> None:
    """A record's first problem, as the `RecordError` that reports it."""
    if problems:
        raise RecordError(joined(where, problems[0].where()), problems[0].message)


def deployment_spec(record: Record, now: datetime) -> DeploymentSpec:
    data = as_type(record.data, dict, "")
    name = as_text(get(data, "name"), "name", nullable=False)
    spec = DeploymentSpec(record=record, name=checked(name, limits.check_deployment_name, "name"))
    if "id" in data:
        spec.id = as_uuid(data["id"], "id")
    read_flow_identity(spec, data)
    if "created" in data:
        spec.created = as_datetime(data["created"], "created")
    if "updated" in data:
        spec.updated = as_datetime(data["updated"], "updated")
    for key, check in PLAIN_FIELDS.items():
        if key in data:
            spec.values[key] = check(data[key], key)
    if "concurrency_options" in data:
        spec.values.update(concurrency_options(data["concurrency_options"]))
    if data.get("labels") is not None:
        spec.labels = as_labels(data["labels"], "labels")
    if data.get("schedules") is not None:
        spec.schedules = schedule_specs(data["schedules"], now)
    if "global_concurrency_limit" in data:
        spec.limit = limit_from_record(data["global_concurrency_limit"])
    if "concurrency_limit" in data:
        spec.deprecated_limit = checked(
            data["concurrency_limit"], limits.check_optional_count, "concurrency_limit"
        )
    if {"work_pool_name", "work_queue_name"} & data.keys():
        spec.work_target = work_target(data)
    given = {**spec.values, **({} if spec.labels is MISSING else {"labels": spec.labels})}
    # The record's own values, each by the core's rules; parameters against their schema
    # once the stored deployment is known (`Writer.plan`).
    refuse_first(deployment_problems(given, check_parameters=False))
    return spec


def read_flow_identity(spec: DeploymentSpec, data: Mapping) -> None:
    if data.get("flow_id") is not None:
        spec.flow_id = as_uuid(data["flow_id"], "flow_id")
    if data.get("flow_name") is not None:
        spec.flow_name = as_name(data["flow_name"], "flow_name")
    if spec.flow_id is None and spec.flow_name is None:
        raise RecordError("flow_id", "Field required (or flow_name)")


def concurrency_options(value: Any) -> dict:
    if value is None:
        return {"concurrency_collision_strategy": None, "concurrency_grace_period_seconds": None}
    where = "concurrency_options"
    options = as_type(value, dict, where)
    strategy = get(options, "collision_strategy")
    grace = as_type(
        options.get("grace_period_seconds"), int, f"{where}.grace_period_seconds", nullable=True
    )
    return {"concurrency_collision_strategy": strategy, "concurrency_grace_period_seconds": grace}


def schedule_specs(value: Any, now: datetime) -> list[ScheduleSpec]:
    """A record's schedules, whose rules share one budget (`CATALOG_SCHEDULE_PAGE_BUDGET`)
    besides each one's own."""
    specs = []
    with page_budget(settings.CATALOG_SCHEDULE_PAGE_BUDGET):
        for n, entry in enumerate(as_type(value, list, "schedules")):
            try:
                specs.append(schedule_spec(entry, now))
            except RecordError as exc:
                raise exc.inside(f"schedules[{n}]") from None
    first: dict[str, int] = {}
    for n, spec in enumerate(specs):
        if spec.slug is not None and spec.slug in first:
            raise RecordError(
                f"schedules[{n}].slug",
                f"slugs must be unique: schedules[{first[spec.slug]}] and schedules[{n}] "
                f"are both {spec.slug!r}",
                also=f"schedules[{first[spec.slug]}].slug",
            )
        first.setdefault(spec.slug, n)
    ids = [spec.id for spec in specs if spec.id is not None]
    if len(ids) != len(set(ids)):
        raise RecordError("schedules", "the same schedule id appears twice")
    return specs


SCHEDULE_KEYS = {*schedules.DEPLOYMENT_SCHEDULE_KEYS, "replaces"}


def schedule_spec(value: Any, now: datetime) -> ScheduleSpec:
    data = as_type(value, dict, "")
    unknown = sorted(set(data) - SCHEDULE_KEYS)
    if unknown:
        raise RecordError(unknown[0], "unknown key (Extra inputs are not permitted)")
    try:
        schedule = schedule_from(get(data, "schedule"), now=now)
    except Invalid as exc:
        refuse_first(exc.problems)
    spec = ScheduleSpec(schedule=schedule)
    if isinstance(schedule, schedules.IntervalSchedule):
        spec.anchored = data["schedule"].get("anchor_date") is not None
    if "id" in data:
        spec.id = as_uuid(data["id"], "id")
    if "created" in data:
        spec.created = as_datetime(data["created"], "created")
    if "updated" in data:
        spec.updated = as_datetime(data["updated"], "updated")
    if data.get("active") is not None:
        spec.active = as_type(data["active"], bool, "active")
    if "max_scheduled_runs" in data:
        max_runs = as_type(data["max_scheduled_runs"], int, "max_scheduled_runs", nullable=True)
        spec.max_scheduled_runs = max_runs
    if "parameters" in data:
        spec.parameters = as_type(data["parameters"], dict, "parameters")
    spec.slug = as_text(data.get("slug"), "slug")
    refuse_first(entry_problems({key: data[key] for key in ENTRY_KEYS if key in data}))
    return spec


ENTRY_KEYS = ("max_scheduled_runs", "parameters", "slug")


def limit_from_record(value: Any, where: str = "global_concurrency_limit"):
    """A limit embedded in a deployment (at `where`), or listed on its own (where="")."""
    if value is None:
        return None
    data = as_type(value, dict, where)
    now = timezone.now()
    values = {
        "active": as_type(data.get("active", True), bool, joined(where, "active")),
        "name": as_text(get(data, "name"), joined(where, "name"), nullable=False),
        "limit": get(data, "limit"),
        "active_slots": data.get("active_slots", 0),
        "denied_slots": data.get("denied_slots", 0),
        "slot_decay_per_second": data.get("slot_decay_per_second", 0.0),
        "avg_slot_occupancy_seconds": data.get("avg_slot_occupancy_seconds", 2.0),
    }
    refuse_first(limit_problems(values), where)
    for rate in ("slot_decay_per_second", "avg_slot_occupancy_seconds"):
        values[rate] = float(values[rate])
    return ConcurrencyLimit(
        id=as_uuid(get(data, "id"), joined(where, "id")),
        created=as_datetime(data.get("created", now), joined(where, "created")),
        updated=as_datetime(data.get("updated", now), joined(where, "updated")),
        **values,
    )


def work_target(data: Mapping) -> WorkTarget | None:
    queue_name = as_text(data.get("work_queue_name"), "work_queue_name")
    pool_name = as_text(data.get("work_pool_name"), "work_pool_name")
    for name, key in ((queue_name, "work_queue_name"), (pool_name, "work_pool_name")):
        if name:
            checked(name, limits.check_name, key)
    queue_id = as_uuid(data.get("work_queue_id"), "work_queue_id", nullable=True)
    if not queue_name and not pool_name:
        return None
    return WorkTarget(pool_name or DEFAULT_AGENT_POOL, queue_name or DEFAULT_QUEUE, queue_id)


def flow_from_record(data: Any) -> Flow:
    data = as_type(data, dict, "")
    now = timezone.now()
    values = {
        "name": as_text(get(data, "name"), "name", nullable=False),
        "tags": as_string_list(data.get("tags", []), "tags"),
        "labels": as_type(data.get("labels", {}), dict, "labels", nullable=True),
    }
    refuse_first(flow_problems(values))
    return Flow(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        **values,
    )


def work_pool_from_record(data: Any) -> tuple[WorkPool, list[WorkQueue]]:
    """A pool and its queues. Whether a new pool's name is reserved is checked when the
    import knows which pools are new (`shared_rows`)."""
    data = as_type(data, dict, "")
    now = timezone.now()
    storage = data.get("storage_configuration")
    values = {
        "name": as_text(get(data, "name"), "name", nullable=False),
        "description": as_text(data.get("description"), "description"),
        "type": as_text(data.get("type", DEFAULT_POOL_TYPE), "type", nullable=False),
        "base_job_template": as_type(data.get("base_job_template", {}), dict, "base_job_template"),
        "concurrency_limit": data.get("concurrency_limit"),
        "status": data.get("status"),
        "storage_configuration": {}
        if storage is None
        else as_type(storage, dict, "storage_configuration"),
    }
    refuse_first(pool_problems(values, renamed=False))
    pool = WorkPool(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        is_paused=as_type(data.get("is_paused", False), bool, "is_paused"),
        default_queue_id=as_uuid(data.get("default_queue_id"), "default_queue_id", nullable=True),
        **values,
    )
    queues = []
    for n, entry in enumerate(as_type(data.get("queues", []), list, "queues")):
        try:
            queues.append(work_queue_from_record(entry, pool))
        except RecordError as exc:
            raise exc.inside(f"queues[{n}]") from None
    return pool, queues


def work_queue_from_record(data: Any, pool: WorkPool) -> WorkQueue:
    data = as_type(data, dict, "")
    now = timezone.now()
    values = {
        "name": as_text(get(data, "name"), "name", nullable=False),
        "description": as_text(data.get("description", ""), "description"),
        "concurrency_limit": data.get("concurrency_limit"),
        "priority": data.get("priority", 1),
        "status": data.get("status") or "NOT_READY",
    }
    refuse_first(queue_problems(values))
    return WorkQueue(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        is_paused=as_type(data.get("is_paused", False), bool, "is_paused"),
        work_pool=pool,
        last_polled=as_datetime(data.get("last_polled"), "last_polled", nullable=True),
        **values,
    )


def variable_from_record(data: Any) -> Variable:
    """A variable as Prefect's API gives it; the id is optional (a name finds it)."""
    data = as_type(data, dict, "")
    values = {
        "name": as_text(get(data, "name"), "name", nullable=False),
        "value": get(data, "value"),
        "tags": as_string_list(data.get("tags", []), "tags"),
    }
    refuse_first(variable_problems(values))
    now = timezone.now()
    return Variable(
        id=as_uuid(data["id"], "id") if "id" in data else None,
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        **values,
    )
