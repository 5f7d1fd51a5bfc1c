"""The one place where outside data becomes catalog rows.

Sources (`catalog.importing.sources`) turn files, prefect.yaml and live Prefect servers into
`Record`s shaped like Prefect's API JSON. This module checks every record with the rules
the API and the admin use, then reconciles them with the catalog in one transaction:

- a deployment is matched on its id when the record has one, else on flow and name;
- only what a record gives is written, and a deployment whose values are already those
  of the record is left alone (its `updated` does not move);
- schedules are matched by slug, else by id, else by their definition, and updated in
  place, so their ids stay stable (Prefect's redeploys change them, duplicating runs).

What absent, empty and null values mean (written in the README too):

- `schedules` absent or null: the deployment keeps the schedules it has;
  `schedules: []`: it has none afterwards;
- a schedule's `active` not given: a matched schedule keeps its flag, a new one is active;
  `paused` not given: a deployment keeps its flag, a new one is not paused. An import
  never re-activates what someone paused or deactivated.

Any bad record aborts the whole import: nothing is written, and every problem is listed
with its file, line where known, and path inside the record.
"""

import gc
import hashlib
import itertools
import json
import marshal
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from catalog.models import (
    DEFAULT_AGENT_POOL,
    DEFAULT_QUEUE,
    FLOW_ID_LABEL,
    SCHEDULE_RULE_COLUMNS,
    CollisionStrategy,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    DeploymentStatus,
    Flow,
    WorkPool,
    WorkQueue,
    schedule_columns,
    validate_labels,
    validate_name,
    validate_tags,
)
from catalog.rules import schedules
from catalog.rules.datetimes import DatetimeError, parse_datetime
from catalog.rules.text import may_be_unstorable, unstorable

MISSING: Any = object()
NAME_LENGTH = 255
# Serialises imports on PostgreSQL, so that concurrent imports of the same file cannot
# both insert one deployment (SQLite's IMMEDIATE transactions already serialise writers).
IMPORT_LOCK = 7_240_517_310


class RecordError(ValueError):
    """A bad value inside one record; `where` is its path inside the record."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message

    def inside(self, outer: str) -> "RecordError":
        """The same error, seen from the object that holds this one at `outer`."""
        if not self.where:
            return RecordError(outer, self.message)
        joiner = "" if self.where.startswith("[") else "."
        return RecordError(f"{outer}{joiner}{self.where}", self.message)


class ImportFailed(Exception):
    """The import was refused and nothing was written; each problem names its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Record:
    """One object read from a source, and how to name a place inside it.

    `place` turns a path inside the record, written the API's way
    (`schedules[0].schedule.cron`), into the place a person finds it: the source, the
    line where known, and the path as written in that source.
    """

    source: str
    path: str
    data: Any
    line: int | None = None
    place: Callable[["Record", str], str] | None = None

    def where(self, inner: str = "") -> str:
        if self.place is not None:
            return self.place(self, inner)
        full = joined(self.path, inner)
        return f"{self.source}:{self.line}: {full}" if self.line else f"{self.source}: {full}"

    def problem(self, error: RecordError) -> str:
        return f"{self.where(error.where)}: {error.message}"


def joined(outer: str, inner: str) -> str:
    if not inner:
        return outer
    if not outer:
        return inner
    return f"{outer}{'' if inner.startswith('[') else '.'}{inner}"


@dataclass
class Bundle:
    """Everything the sources read, before any check."""

    flows: list[Record] = field(default_factory=list)
    deployments: list[Record] = field(default_factory=list)
    concurrency_limits: list[Record] = field(default_factory=list)
    work_pools: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: "Bundle") -> None:
        for name in (
            "flows",
            "deployments",
            "concurrency_limits",
            "work_pools",
            "problems",
            "notes",
        ):
            getattr(self, name).extend(getattr(other, name))


@dataclass
class Change:
    """What an import did, or would do, to one deployment."""

    action: str  # "create", "update" or "unchanged"
    flow_name: str
    name: str
    fields: list[str] = field(default_factory=list)

    def describe(self) -> str:
        target = f"{self.flow_name}/{self.name}"
        if self.action == "update":
            return f"update {target}: {', '.join(self.fields)}"
        return f"{self.action} {target}"


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    flows_created: int = 0
    schedules_created: int = 0
    schedules_updated: int = 0
    schedules_deleted: int = 0
    concurrency_limits_written: int = 0
    work_pools_created: int = 0
    work_queues_created: int = 0
    dry_run: bool = False
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def deployments_created(self) -> int:
        return self.created

    @property
    def deployments_updated(self) -> int:
        return self.updated

    def summary(self) -> str:
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return (
            f"{prefix}created={self.created} updated={self.updated} "
            f"unchanged={self.unchanged} errors={self.errors}"
        )

    def details(self) -> str:
        return (
            f"schedules: {self.schedules_created} created, {self.schedules_updated} updated, "
            f"{self.schedules_deleted} deleted; flows created: {self.flows_created}; "
            f"concurrency limits written: {self.concurrency_limits_written}; "
            f"work pools created: {self.work_pools_created}; "
            f"work queues created: {self.work_queues_created}"
        )


Progress = Callable[[int, int], None]


# Checking values ----------------------------------------------------------------------


def get(data: Mapping, key: str, default: Any = MISSING) -> Any:
    if key in data:
        return data[key]
    if default is MISSING:
        raise RecordError(key, "Field required")
    return default


def as_uuid(value: Any, where: str, *, nullable: bool = False) -> uuid.UUID | None:
    if value is None and nullable:
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise RecordError(where, f"Input should be a valid UUID, got {value!r}") from None


def as_datetime(value: Any, where: str, *, nullable: bool = False) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        return parse_datetime(value)
    except DatetimeError as exc:
        raise RecordError(where, str(exc)) from None


TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    dict: "an object",
    list: "a list",
    float: "a number",
}


def as_type(value: Any, kind: type | tuple, where: str, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    # bool is an int in Python, but never a valid count or limit.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RecordError(where, f"expected {type_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        raise RecordError(where, f"expected {type_name(kind)}, got {shown[:80]}")
    return value


def type_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)


def as_text(value: Any, where: str, *, nullable: bool = True, limit: int | None = None):
    text = as_type(value, str, where, nullable=nullable)
    if text is not None and limit is not None and len(text) > limit:
        raise RecordError(where, f"String should have at most {limit} characters")
    return text


def as_name(value: Any, where: str, *, may_be_empty: bool = True) -> str:
    name = as_text(value, where, nullable=False, limit=NAME_LENGTH)
    if not name and not may_be_empty:
        raise RecordError(where, "may not be empty")
    try:
        validate_name(name)
    except Exception as exc:  # a ValidationError from the model's own rule
        raise RecordError(where, " ".join(getattr(exc, "messages", [str(exc)]))) from None
    return name


def as_string_list(value: Any, where: str) -> list[str]:
    for n, item in enumerate(as_type(value, list, where)):
        as_type(item, str, f"{where}[{n}]")
    return value


def as_tags(value: Any, where: str) -> list[str]:
    tags = as_string_list(value, where)
    try:
        validate_tags(tags)
    except Exception as exc:  # a ValidationError from the model's own rule
        raise RecordError(where, " ".join(getattr(exc, "messages", [str(exc)]))) from None
    return tags


def as_positive_int(value: Any, where: str, *, nullable: bool = True) -> int | None:
    number = as_type(value, int, where, nullable=nullable)
    if number is not None and number <= 0:
        raise RecordError(where, "Input should be greater than 0")
    return number


def as_choice(value: Any, choices: type, where: str) -> str:
    if value not in choices.values:
        expected = " or ".join(repr(choice) for choice in choices.values)
        raise RecordError(where, f"Input should be {expected}, got {value!r}")
    return value


def as_labels(value: Any, where: str) -> dict:
    labels = as_type(value, dict, where)
    for key, label in labels.items():
        if isinstance(label, dict | list) or label is None:
            raise RecordError(f"{where}.{key}", "a label must be a string, number or boolean")
    validate_labels(labels)
    return labels


def as_pull_steps(value: Any, where: str = "pull_steps") -> list | None:
    if value is None:
        return None
    for n, step in enumerate(as_type(value, list, where)):
        as_type(step, dict, f"{where}[{n}]")
    return value


def as_actor(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    actor = as_type(value, dict, where)
    extra = set(actor) - {"id", "type", "display_value"}
    if extra:
        raise RecordError(where, f"unexpected keys {sorted(extra)}")
    return {
        "id": str(as_uuid(actor["id"], f"{where}.id")) if actor.get("id") else None,
        "type": as_type(actor.get("type"), str, f"{where}.type", nullable=True),
        "display_value": as_type(
            actor.get("display_value"), str, f"{where}.display_value", nullable=True
        ),
    }


# Records as specifications ------------------------------------------------------------


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


# Fields read as they are: the record's key, and how to check its value.
PLAIN_FIELDS: dict[str, Callable[[Any, str], Any]] = {
    "version": lambda v, w: as_text(v, w, limit=NAME_LENGTH),
    "description": lambda v, w: as_text(v, w),
    "paused": lambda v, w: as_type(v, bool, w),
    "job_variables": lambda v, w: as_type(v, dict, w),
    "parameters": lambda v, w: as_type(v, dict, w),
    "tags": as_tags,
    "last_polled": lambda v, w: as_datetime(v, w, nullable=True),
    "parameter_openapi_schema": lambda v, w: as_type(v, dict, w, nullable=True),
    "path": lambda v, w: as_text(v, w),
    "pull_steps": as_pull_steps,
    "entrypoint": lambda v, w: as_text(v, w),
    "storage_document_id": lambda v, w: as_uuid(v, w, nullable=True),
    "infrastructure_document_id": lambda v, w: as_uuid(v, w, nullable=True),
    "created_by": as_actor,
    "updated_by": as_actor,
    "status": lambda v, w: as_choice(v, DeploymentStatus, w),
    "enforce_parameter_schema": lambda v, w: as_type(v, bool, w),
}


def deployment_spec(record: Record, now: datetime) -> DeploymentSpec:
    data = as_type(record.data, dict, "")
    spec = DeploymentSpec(record=record, name=as_name(get(data, "name"), "name"))
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
        spec.deprecated_limit = as_positive_int(data["concurrency_limit"], "concurrency_limit")
    if {"work_pool_name", "work_queue_name"} & data.keys():
        spec.work_target = work_target(data)
    return spec


def read_flow_identity(spec: DeploymentSpec, data: Mapping) -> None:
    if data.get("flow_id") is not None:
        spec.flow_id = as_uuid(data["flow_id"], "flow_id")
    if data.get("flow_name") is not None:
        spec.flow_name = as_name(data["flow_name"], "flow_name", may_be_empty=False)
    if spec.flow_id is None and spec.flow_name is None:
        raise RecordError("flow_id", "Field required (or flow_name)")


def concurrency_options(value: Any) -> dict:
    if value is None:
        return {"concurrency_collision_strategy": None, "concurrency_grace_period_seconds": None}
    where = "concurrency_options"
    options = as_type(value, dict, where)
    strategy = as_choice(
        get(options, "collision_strategy"), CollisionStrategy, f"{where}.collision_strategy"
    )
    grace = as_type(
        options.get("grace_period_seconds"), int, f"{where}.grace_period_seconds", nullable=True
    )
    if grace is not None and not 60 <= grace <= 86400:
        raise RecordError(f"{where}.grace_period_seconds", "must be between 60 and 86400")
    return {"concurrency_collision_strategy": strategy, "concurrency_grace_period_seconds": grace}


def schedule_specs(value: Any, now: datetime) -> list[ScheduleSpec]:
    specs = []
    for n, entry in enumerate(as_type(value, list, "schedules")):
        try:
            specs.append(schedule_spec(entry, now))
        except RecordError as exc:
            raise exc.inside(f"schedules[{n}]") from None
    slugs = [spec.slug for spec in specs if spec.slug is not None]
    repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if repeated:
        raise RecordError("schedules", f"slugs must be unique, repeated: {', '.join(repeated)}")
    ids = [spec.id for spec in specs if spec.id is not None]
    if len(ids) != len(set(ids)):
        raise RecordError("schedules", "the same schedule id appears twice")
    return specs


SCHEDULE_KEYS = {
    "id",
    "created",
    "updated",
    "deployment_id",
    "schedule",
    "active",
    "max_scheduled_runs",
    "parameters",
    "slug",
    "replaces",
}


def schedule_spec(value: Any, now: datetime) -> ScheduleSpec:
    data = as_type(value, dict, "")
    unknown = sorted(set(data) - SCHEDULE_KEYS)
    if unknown:
        raise RecordError(unknown[0], "unknown key (Extra inputs are not permitted)")
    try:
        schedule = schedules.schedule_from_json(get(data, "schedule"), now=now)
    except schedules.ScheduleError as exc:
        where = "schedule" if exc.field == "schedule" else f"schedule.{exc.field}"
        raise RecordError(where, exc.message) from None
    if isinstance(schedule, schedules.RRuleSchedule):
        schedule = schedules.RRuleSchedule(
            schedules.normalize_rrule(schedule.rrule, schedule.timezone, now), schedule.timezone
        )
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
        spec.max_scheduled_runs = as_positive_int(data["max_scheduled_runs"], "max_scheduled_runs")
    if "parameters" in data:
        spec.parameters = as_type(data["parameters"], dict, "parameters")
    spec.slug = as_text(data.get("slug"), "slug", limit=NAME_LENGTH)
    return spec


def limit_from_record(value: Any, where: str = "global_concurrency_limit"):
    if value is None:
        return None
    data = as_type(value, dict, where)
    now = timezone.now()
    return ConcurrencyLimit(
        id=as_uuid(get(data, "id"), f"{where}.id"),
        created=as_datetime(data.get("created", now), f"{where}.created"),
        updated=as_datetime(data.get("updated", now), f"{where}.updated"),
        active=as_type(data.get("active", True), bool, f"{where}.active"),
        name=as_name(get(data, "name"), f"{where}.name", may_be_empty=False),
        limit=non_negative(get(data, "limit"), f"{where}.limit"),
        active_slots=non_negative(data.get("active_slots", 0), f"{where}.active_slots"),
        denied_slots=non_negative(data.get("denied_slots", 0), f"{where}.denied_slots"),
        slot_decay_per_second=float(
            non_negative(
                data.get("slot_decay_per_second", 0.0),
                f"{where}.slot_decay_per_second",
                kind=(int, float),
            )
        ),
        avg_slot_occupancy_seconds=float(
            non_negative(
                data.get("avg_slot_occupancy_seconds", 2.0),
                f"{where}.avg_slot_occupancy_seconds",
                kind=(int, float),
            )
        ),
    )


def non_negative(value: Any, where: str, kind: type | tuple = int):
    number = as_type(value, kind, where)
    if number < 0:
        raise RecordError(where, "Input should be greater than or equal to 0")
    return number


def work_target(data: Mapping) -> WorkTarget | None:
    queue_name = as_text(data.get("work_queue_name"), "work_queue_name", limit=NAME_LENGTH)
    pool_name = as_text(data.get("work_pool_name"), "work_pool_name", limit=NAME_LENGTH)
    queue_id = as_uuid(data.get("work_queue_id"), "work_queue_id", nullable=True)
    if not queue_name and not pool_name:
        return None
    return WorkTarget(pool_name or DEFAULT_AGENT_POOL, queue_name or DEFAULT_QUEUE, queue_id)


def flow_from_record(data: Any) -> Flow:
    data = as_type(data, dict, "")
    now = timezone.now()
    return Flow(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        name=as_name(get(data, "name"), "name", may_be_empty=False),
        tags=as_tags(data.get("tags", []), "tags"),
        labels=as_type(data.get("labels", {}), dict, "labels", nullable=True),
    )


def work_pool_from_record(data: Any) -> tuple[WorkPool, list[WorkQueue]]:
    data = as_type(data, dict, "")
    now = timezone.now()
    pool = WorkPool(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        name=as_name(get(data, "name"), "name", may_be_empty=False),
        description=as_text(data.get("description"), "description"),
        type=as_text(data.get("type", "prefect-agent"), "type", nullable=False, limit=255),
        base_job_template=as_type(data.get("base_job_template", {}), dict, "base_job_template"),
        is_paused=as_type(data.get("is_paused", False), bool, "is_paused"),
        concurrency_limit=as_type(
            data.get("concurrency_limit"), int, "concurrency_limit", nullable=True
        ),
        status=data.get("status"),
        default_queue_id=as_uuid(data.get("default_queue_id"), "default_queue_id", nullable=True),
        storage_configuration=as_type(
            data.get("storage_configuration") or {}, dict, "storage_configuration"
        ),
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
    return WorkQueue(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(data.get("created", now), "created"),
        updated=as_datetime(data.get("updated", now), "updated"),
        name=as_name(get(data, "name"), "name", may_be_empty=False),
        description=as_text(data.get("description", ""), "description"),
        is_paused=as_type(data.get("is_paused", False), bool, "is_paused"),
        concurrency_limit=as_type(
            data.get("concurrency_limit"), int, "concurrency_limit", nullable=True
        ),
        priority=as_positive_int(data.get("priority", 1), "priority", nullable=False),
        work_pool=pool,
        last_polled=as_datetime(data.get("last_polled"), "last_polled", nullable=True),
        status=data.get("status") or "NOT_READY",
    )


# Checking a whole bundle --------------------------------------------------------------


@dataclass
class Checked:
    flows: list[tuple[Record, Flow]]
    deployments: list[DeploymentSpec]
    limits: list[tuple[Record, ConcurrencyLimit]]
    pools: list[tuple[Record, WorkPool, list[WorkQueue]]]


def check_bundle(bundle: Bundle) -> Checked:
    """Every record checked; `ImportFailed` lists every problem found."""
    problems = list(bundle.problems)
    now = timezone.now()
    checked = Checked(
        flows=collect(bundle.flows, flow_from_record, problems),
        deployments=collect(bundle.deployments, None, problems, now=now),
        limits=collect(bundle.concurrency_limits, limit_from_record, problems),
        pools=collect(bundle.work_pools, work_pool_from_record, problems),
    )
    problems += duplicate_problems(checked.deployments)
    if problems:
        raise ImportFailed(problems)
    return checked


def collect(records: list[Record], build, problems: list[str], now=None) -> list:
    built = []
    for record in records:
        try:
            refuse_unstorable_text(record.data)
            if build is None:
                built.append(deployment_spec(record, now))
            elif build is work_pool_from_record:
                built.append((record, *build(record.data)))
            else:
                built.append((record, build(record.data)))
        except RecordError as exc:
            problems.append(record.problem(exc))
    return built


def refuse_unstorable_text(value: Any) -> None:
    found = may_be_unstorable(value) and unstorable(value)
    if found:
        raise RecordError(*found)


def duplicate_problems(specs: list[DeploymentSpec]) -> list[str]:
    problems, by_id, by_name = [], {}, {}
    for spec in specs:
        if spec.id is not None:
            if spec.id in by_id:
                problems.append(f"{spec.record.where('id')}: repeats {by_id[spec.id]}")
            by_id[spec.id] = spec.record.where()
        key = (spec.flow_id or spec.flow_name, spec.name)
        if key in by_name:
            problems.append(f"{spec.record.where('name')}: repeats {by_name[key]}")
        by_name[key] = spec.record.where()
    return problems


# Writing ------------------------------------------------------------------------------


def import_bundle(
    bundle: Bundle,
    *,
    flow_name: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every record, then write them all in one transaction, or nothing at all."""
    result = ImportResult(dry_run=dry_run, notes=list(bundle.notes))
    try:
        with cyclic_gc_paused(), transaction.atomic():
            take_import_lock()
            bundle, candidates = skip_unchanged(bundle, result)
            checked = check_bundle(bundle)
            Writer(result, progress, candidates).write(checked, flow_name)
            if dry_run:
                transaction.set_rollback(True)
    except DatabaseError as exc:
        raise ImportFailed([f"the database refused the import: {exc}".strip()]) from None
    return result


@contextmanager
def cyclic_gc_paused():
    """Large imports build hundreds of thousands of dicts and lists, none of them in a
    reference cycle; Python's cyclic collector would scan them all again and again
    (a third of a 10,000-deployment import). Plain reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def take_import_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])


def import_paths(paths, *, flow_name=None, dry_run=False, file_format=None, progress=None):
    """Read files (JSON, JSON Lines, prefect.yaml) and import them; see `import_bundle`."""
    from catalog.importing.sources import read_paths

    with cyclic_gc_paused():
        bundle = read_paths(paths, file_format=file_format)
    return import_bundle(
        bundle,
        flow_name=flow_name,
        dry_run=dry_run,
        progress=progress,
    )


# Fingerprints ---------------------------------------------------------------------------


def record_digest(record: Record) -> str:
    """The record's content. Key order counts, which is stable for a source read twice;
    a record written in another order (or read by another Python, whose `marshal` may
    write differently) is merely checked in full."""
    try:
        content = marshal.dumps(record.data, 2)  # version 2 writes no shared references
    except ValueError:  # a value marshal cannot write
        content = json.dumps(record.data, default=str).encode()
    return hashlib.sha1(content).hexdigest()


def state_stamp(updated, status, last_polled, schedule_count: int, schedules_updated) -> str:
    """The parts of a deployment's state any other writer changes: its `updated` (every
    save and action moves it), the worker-set status and poll time, and its schedules."""
    parts = [
        utc_text(updated),
        status,
        utc_text(last_polled),
        str(schedule_count),
        utc_text(schedules_updated),
    ]
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]


def utc_text(moment) -> str:
    return moment.astimezone(UTC).isoformat() if moment is not None else ""


def skip_unchanged(bundle: Bundle, result: ImportResult) -> tuple[Bundle, set]:
    """Deployment records identical to what the last import wrote, into a deployment no
    one has touched since, are counted unchanged without being checked again: the same
    record was checked then, and the stored state shows nothing moved."""
    keyed = {}
    for record in bundle.deployments:
        key = record_key(record.data)
        if key is not None:
            keyed[key] = record
    stored, rows = stored_fingerprints(keyed)
    kept = []
    for record in bundle.deployments:
        key = record_key(record.data)
        found = stored.get(key) if key is not None else None
        fingerprint = found and found["fingerprint"]
        if fingerprint and fingerprint == f"{record_digest(record)}:{found['stamp']}":
            result.unchanged += 1
            result.changes.append(Change("unchanged", found["flow_name"], found["name"]))
        else:
            kept.append(record)
    return replace(bundle, deployments=kept), candidates_for(kept, rows)


def candidates_for(records: list[Record], rows: list[tuple]) -> set:
    """The stored deployments the records still to import may name: by id or by name."""
    ids = {key[1] for key in map(record_key_of, records) if key and key[0] == "id"}
    names = {record.data.get("name") for record in records if isinstance(record.data, Mapping)}
    return {row_id for row_id, name in rows if str(row_id) in ids or name in names}


def record_key_of(record: Record) -> tuple | None:
    return record_key(record.data)


def record_key(data: Any) -> tuple | None:
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        return None
    if isinstance(data.get("id"), str):
        return ("id", data["id"].lower())
    flow = data.get("flow_id") or data.get("flow_name")
    return ("name", str(flow).lower(), data["name"]) if isinstance(flow, str) else None


def stored_fingerprints(keyed: dict) -> tuple[dict, set]:
    """The stored state of every deployment a record may name (by id, or by name in any
    flow), and the ids of all of them: no other stored deployment can match a record."""
    ids = [key[1] for key in keyed if key[0] == "id" and is_uuid(key[1])]
    names = list({record.data["name"] for record in keyed.values()})
    rows = Deployment.objects.filter(Q(id__any=ids) | Q(name__any=names))
    columns = (
        "id",
        "name",
        "flow_id",
        "flow__name",
        "import_fingerprint",
        "updated",
        "status",
        "last_polled",
    )
    found = {row["id"]: row for row in rows.values(*columns)}
    if not found:
        return {}, []
    totals = (
        DeploymentSchedule.objects.filter(deployment_id__any=list(found))
        .values("deployment_id")
        .annotate(count=Count("id"), last=Max("updated"))
    )
    schedules_of = {row["deployment_id"]: (row["count"], row["last"]) for row in totals}
    stored = {}
    for row in found.values():
        count, last = schedules_of.get(row["id"], (0, None))
        entry = {
            "fingerprint": row["import_fingerprint"],
            "name": row["name"],
            "flow_name": row["flow__name"],
            "stamp": state_stamp(row["updated"], row["status"], row["last_polled"], count, last),
        }
        stored[("id", str(row["id"]))] = entry
        stored[("name", str(row["flow_id"]), row["name"])] = entry
        stored[("name", row["flow__name"].lower(), row["name"])] = entry
    return stored, [(row["id"], row["name"]) for row in found.values()]


DEPLOYMENT_COLUMNS = [
    f.attname for f in Deployment._meta.concrete_fields if f.attname not in {"id", "created"}
]
SCHEDULE_COLUMNS = [
    f.attname
    for f in DeploymentSchedule._meta.concrete_fields
    if f.attname not in {"id", "deployment_id", "created"}
]


class Writer:
    """Reconciles checked records with the catalog, in bulk."""

    def __init__(self, result: ImportResult, progress: Progress | None, candidates=None) -> None:
        self.result = result
        self.candidates = candidates
        self.progress = progress
        self.now = timezone.now()
        self.pools: dict[str, WorkPool] = {}
        self.queues: dict[tuple[str, str], WorkQueue] = {}

    def write(self, checked: Checked, flow_name: str | None) -> None:
        self.write_pools(checked.pools)
        # A limit listed on its own wins over the same limit embedded in a deployment,
        # which lacks the slot statistics.
        embedded = [spec.limit for spec in checked.deployments if spec.limit not in (MISSING, None)]
        self.write_limits(embedded + [limit for _, limit in checked.limits])
        flows = FlowResolver(self.result).resolve(checked.flows, checked.deployments, flow_name)
        self.write_deployments(checked.deployments, flows)

    # Pools, queues and limits ------------------------------------------------------

    def write_pools(self, pools: list[tuple[Record, WorkPool, list[WorkQueue]]]) -> None:
        if not pools:
            return
        names = {pool.name: (record, pool) for record, pool, _ in pools}
        taken = WorkPool.objects.filter(name__in=names).exclude(id__in=[p.id for _, p, _ in pools])
        problems = [
            f"{names[name][0].where('name')}: a work pool named {name!r} already "
            "exists with another id"
            for name in taken.values_list("name", flat=True)
        ]
        if problems:
            raise ImportFailed(problems)
        existing = set(
            WorkPool.objects.filter(id__in=[p.id for _, p, _ in pools]).values_list("id", flat=True)
        )
        defaults = {pool.id: pool.default_queue_id for _, pool, _ in pools}
        for _, pool, _ in pools:
            pool.default_queue_id = None
        WorkPool.objects.bulk_create(
            [pool for _, pool, _ in pools],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[f for f in fields_of(WorkPool) if f != "default_queue_id"],
        )
        queues = [queue for _, _, pool_queues in pools for queue in pool_queues]
        WorkQueue.objects.bulk_create(
            queues, update_conflicts=True, unique_fields=["id"], update_fields=fields_of(WorkQueue)
        )
        given = {queue.id for queue in queues}
        for _, pool, _ in pools:
            self.set_default_queue(pool, defaults[pool.id], given)
        self.result.work_pools_created += len(pools) - len(existing)
        self.result.work_queues_created += len(queues)

    def set_default_queue(self, pool: WorkPool, queue_id, given: set) -> None:
        """The pool's default queue: the one named, made as "default" if the input lacks it."""
        if queue_id is None:
            return
        if queue_id not in given and not WorkQueue.objects.filter(id=queue_id).exists():
            WorkQueue.objects.create(
                id=queue_id,
                work_pool=pool,
                name=DEFAULT_QUEUE,
                priority=next_priority(pool),
                description="The work pool's default queue.",
            )
            self.result.work_queues_created += 1
        WorkPool.objects.filter(id=pool.id).update(default_queue_id=queue_id)

    def write_limits(self, limits: list[ConcurrencyLimit]) -> None:
        unique = {limit.id: limit for limit in limits}  # the last of the same id wins
        limits = list(unique.values())
        if not limits:
            return
        names = {limit.name: limit for limit in limits}
        taken = ConcurrencyLimit.objects.filter(name__in=names).exclude(id__in=unique)
        clashes = [
            f"global_concurrency_limit.name: a limit named {name!r} already exists with another id"
            for name in taken.values_list("name", flat=True)
        ]
        if clashes:
            raise ImportFailed(clashes)
        for limit in limits:
            if limit.name.startswith("deployment:"):
                owner = limit.name.removeprefix("deployment:")
                limit.owner_id = uuid.UUID(owner) if is_uuid(owner) else None
        owners = {limit.owner_id for limit in limits if limit.owner_id}
        present = set(Deployment.objects.filter(id__in=owners).values_list("id", flat=True))
        self.pending_owners = {
            limit.id: limit.owner_id
            for limit in limits
            if limit.owner_id and limit.owner_id not in present
        }
        for limit in limits:
            if limit.id in self.pending_owners:
                limit.owner_id = None
        ConcurrencyLimit.objects.bulk_create(
            limits,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=fields_of(ConcurrencyLimit),
        )
        self.result.concurrency_limits_written += len(limits)

    def load_work_queues(self, specs: list[DeploymentSpec]) -> None:
        """The pools and queues the records name, read in two queries."""
        targets = {spec.work_target for spec in specs if spec.work_target not in (MISSING, None)}
        pool_names = {target.pool_name for target in targets}
        for pool in WorkPool.objects.filter(name__in=pool_names):
            self.pools[pool.name] = pool
        queues = WorkQueue.objects.filter(work_pool__name__in=pool_names).select_related(
            "work_pool"
        )
        for queue in queues:
            self.queues[(queue.work_pool.name, queue.name)] = queue

    def work_queue(self, target: WorkTarget, record: Record) -> WorkQueue:
        key = (target.pool_name, target.queue_name)
        if key not in self.queues:
            pool = self.work_pool(target.pool_name)
            queue = pool.queues.filter(name=target.queue_name).first()
            if queue is None:
                if target.queue_id and WorkQueue.objects.filter(id=target.queue_id).exists():
                    raise ImportFailed(
                        [
                            f"{record.where('work_queue_id')}: queue "
                            f"{target.queue_id} exists, but not as "
                            f"{target.queue_name!r} in {target.pool_name!r}"
                        ]
                    )
                queue = WorkQueue.objects.create(
                    id=target.queue_id or uuid.uuid4(),
                    name=target.queue_name,
                    work_pool=pool,
                    priority=next_priority(pool),
                )
                self.result.work_queues_created += 1
            self.queues[key] = queue
        return self.queues[key]

    def work_pool(self, name: str) -> WorkPool:
        if name not in self.pools:
            pool = WorkPool.objects.filter(name=name).first()
            if pool is None:
                pool = WorkPool.objects.create(
                    name=name, status=None if name == DEFAULT_AGENT_POOL else "NOT_READY"
                )
                pool.default_queue = WorkQueue.objects.create(
                    name=DEFAULT_QUEUE,
                    work_pool=pool,
                    description="The work pool's default queue.",
                )
                pool.save(update_fields=["default_queue"])
                self.result.work_pools_created += 1
                self.result.work_queues_created += 1
            self.pools[name] = pool
        return self.pools[name]

    # Deployments -------------------------------------------------------------------

    def write_deployments(self, specs: list[DeploymentSpec], flows: dict) -> None:
        self.load_work_queues(specs)
        existing = ExistingDeployments(specs, flows, self.candidates)
        problems = existing.conflicts()
        if problems:
            raise ImportFailed(problems)
        for spec in specs:
            if spec.work_target not in (MISSING, None):
                self.work_queue(spec.work_target, spec.record)
        plans: list[Plan] = []

        def new_rows():
            # Planning runs no query from here on, so the new rows can go to the
            # database while the next ones are planned: PostgreSQL indexes them meanwhile.
            for n, spec in enumerate(specs, start=1):
                plan = self.plan(spec, flows, existing)
                plans.append(plan)
                if self.progress and (n % 1000 == 0 or n == len(specs)):
                    self.progress(n, len(specs))
                if plan.stored is None:
                    yield plan.row

        insert_rows(Deployment, new_rows())
        self.apply(plans)

    def plan(self, spec: DeploymentSpec, flows: dict, existing: "ExistingDeployments") -> "Plan":
        """The deployment's columns after the import, and which of them change."""
        flow = flows[spec.flow_id or spec.flow_name]
        stored = existing.find(spec, flow)
        row = dict(stored) if stored else new_deployment_row(spec, flow)
        touched = set(spec.values)
        row.update(spec.values)
        row["labels"] = self.labels_for(spec, row, flow)
        touched.add("labels")
        if spec.work_target is not MISSING:
            target = spec.work_target
            row["work_queue_id"] = self.work_queue(target, spec.record).id if target else None
            touched.add("work_queue_id")
        if spec.limit is not MISSING:
            row["global_concurrency_limit_id"] = spec.limit.id if spec.limit else None
            touched.add("global_concurrency_limit_id")
        for stamp in ("created", "updated"):
            if getattr(spec, stamp) is not None:
                row[stamp] = getattr(spec, stamp)
                touched.add(stamp)
        stored_schedules = existing.schedules.get(row["id"], []) if stored else []
        schedule_plan = SchedulePlan.of(spec, row["id"], stored_schedules, self.now)
        changed = sorted(k for k in touched if stored is None or stored[k] != row[k])
        plan = Plan(spec, flow, row, stored, [] if stored is None else changed, schedule_plan)
        if stored is not None and plan.is_change() and spec.updated is None:
            row["updated"] = self.now
            plan.changed = sorted({*plan.changed, "updated"})
        count, last = schedule_plan.final_state(stored_schedules, spec.schedules is None)
        stamp = state_stamp(row["updated"], row["status"], row["last_polled"], count, last)
        row["import_fingerprint"] = f"{record_digest(spec.record)}:{stamp}"
        return plan

    def labels_for(self, spec: DeploymentSpec, row: dict, flow: Flow) -> dict:
        """Labels as given; Prefect's `prefect.flow.id` label is added when missing."""
        labels = row.get("labels") or {}
        if spec.labels is not MISSING:
            labels = spec.labels
        if FLOW_ID_LABEL in labels:
            return labels
        return {**(flow.labels or {}), FLOW_ID_LABEL: str(flow.id), **labels}

    def apply(self, plans: list["Plan"]) -> None:
        """Everything but the new deployments, which `write_deployments` wrote."""
        changed = [plan for plan in plans if plan.stored is not None and plan.changed]
        if changed:
            columns = sorted({name for plan in changed for name in plan.changed})
            Deployment.objects.bulk_update(
                [Deployment(**plan.row) for plan in changed],
                [*columns, "import_fingerprint"],
                batch_size=500,
            )
        self.refresh_fingerprints([plan for plan in plans if plan.stored and not plan.changed])
        self.apply_schedules([plan.schedules for plan in plans])
        self.apply_deprecated_limits(plans)
        self.adopt_owned_limits()
        for plan in plans:
            self.count(plan)

    def refresh_fingerprints(self, plans: list["Plan"]) -> None:
        """Rows whose values the import left as they were still get its fingerprint."""
        stale = [
            plan
            for plan in plans
            if plan.stored.get("import_fingerprint") != plan.row["import_fingerprint"]
        ]
        for plan in stale:
            Deployment.objects.filter(id=plan.row["id"]).update(
                import_fingerprint=plan.row["import_fingerprint"]
            )

    def count(self, plan: "Plan") -> None:
        if plan.stored is None:
            action, self.result.created = "create", self.result.created + 1
        elif plan.is_change():
            action, self.result.updated = "update", self.result.updated + 1
        else:
            action, self.result.unchanged = "unchanged", self.result.unchanged + 1
        fields = [name for name in plan.changed if name != "updated"]
        fields += ["schedules"] if plan.schedules.changes() else []
        self.result.changes.append(Change(action, plan.flow.name, plan.row["name"], fields))

    def apply_schedules(self, plans: list["SchedulePlan"]) -> None:
        removed = [row_id for plan in plans for row_id in plan.removed]
        if removed:
            DeploymentSchedule.objects.filter(id__in=removed).delete()
        updated = [row for plan in plans for row in plan.updated]
        if updated:
            DeploymentSchedule.objects.bulk_update(
                [DeploymentSchedule(**row) for row in updated], SCHEDULE_COLUMNS, batch_size=500
            )
        created = [row for plan in plans for row in plan.created]
        insert_rows(DeploymentSchedule, created)
        self.result.schedules_deleted += len(removed)
        self.result.schedules_updated += len(updated)
        self.result.schedules_created += len(created)

    def apply_deprecated_limits(self, plans: list["Plan"]) -> None:
        """`concurrency_limit: N` without a limit object makes the deployment's own limit;
        `null` removes it (a shared limit is never changed)."""
        for plan in plans:
            spec = plan.spec
            if spec.deprecated_limit is MISSING or spec.limit not in (MISSING, None):
                continue
            deployment_id = plan.row["id"]
            own = ConcurrencyLimit.objects.filter(owner_id=deployment_id).first()
            if spec.deprecated_limit is None:
                if own is not None:
                    own.delete()
                continue
            if own is not None and own.limit == spec.deprecated_limit:
                continue
            own, _ = ConcurrencyLimit.objects.update_or_create(
                name=ConcurrencyLimit.name_for_deployment(deployment_id),
                defaults={"limit": spec.deprecated_limit, "owner_id": deployment_id},
            )
            Deployment.objects.filter(id=deployment_id).update(global_concurrency_limit=own)
            self.result.concurrency_limits_written += 1

    def adopt_owned_limits(self) -> None:
        for limit_id, owner_id in getattr(self, "pending_owners", {}).items():
            ConcurrencyLimit.objects.filter(id=limit_id).update(owner_id=owner_id)


def fields_of(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in {"id", "created"}]


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def next_priority(pool: WorkPool) -> int:
    taken = sorted(pool.queues.values_list("priority", flat=True))
    return next((n for n, used in enumerate(taken, start=1) if n != used), len(taken) + 1)


DEPLOYMENT_FIELDS = {f.attname: f for f in Deployment._meta.concrete_fields}
SCHEDULE_FIELDS = {f.attname: f for f in DeploymentSchedule._meta.concrete_fields}


FIXED_DEFAULTS = {
    name: field.get_default()
    for name, field in DEPLOYMENT_FIELDS.items()
    if not (field.has_default() and callable(field.default))
}
MADE_DEFAULTS = {
    name: field.default
    for name, field in DEPLOYMENT_FIELDS.items()
    if field.has_default() and callable(field.default)
}


def new_deployment_row(spec: DeploymentSpec, flow: Flow) -> dict:
    row = {**FIXED_DEFAULTS, **{name: make() for name, make in MADE_DEFAULTS.items()}}
    row.update(id=spec.id or uuid.uuid4(), flow_id=flow.id, name=spec.name)
    return row


def insert_rows(model, rows: Iterable[dict]) -> None:
    """New rows, written with a binary COPY on PostgreSQL (several times faster than
    INSERT for a large import) and with batched INSERTs elsewhere. Rows are sent as the
    iterable gives them, which must run no query meanwhile."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    rows = itertools.chain([first], rows)
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=500)
        return
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    copying = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(copying) as copy,
    ):
        copy.set_types([COPY_TYPES[field.get_internal_type()] for field in fields])
        converters = [(field.attname, copy_converter(field)) for field in fields]
        for row in rows:
            copy.write_row([convert(row[name]) for name, convert in converters])


COPY_TYPES = {
    "UUIDField": "uuid",
    "ForeignKey": "uuid",
    "OneToOneField": "uuid",
    "DateTimeField": "timestamptz",
    "CharField": "text",
    "TextField": "text",
    "BooleanField": "bool",
    "FloatField": "float8",
    "IntegerField": "int4",
    "PositiveIntegerField": "int4",
    "JSONField": "jsonb",
}


def copy_converter(field) -> Callable[[Any], Any]:
    """What binary COPY needs for one column: JSON wrapped as jsonb, floats as floats."""
    from psycopg.types.json import Jsonb

    kind = field.get_internal_type()
    if kind == "JSONField":
        return lambda value: None if value is None else Jsonb(value)
    if kind == "FloatField":
        return lambda value: None if value is None else float(value)
    return lambda value: value


@dataclass
class Plan:
    spec: DeploymentSpec
    flow: Flow
    row: dict
    stored: dict | None
    changed: list[str]
    schedules: "SchedulePlan"

    def is_change(self) -> bool:
        return bool(self.changed) or self.schedules.changes()


class ExistingDeployments:
    """The stored deployments (and their schedules) the records name, read as plain
    column dicts: an import of 10,000 unchanged deployments builds no model objects."""

    def __init__(self, specs: list[DeploymentSpec], flows: dict, candidates=None) -> None:
        """`candidates`: the ids of every stored deployment a record could name, when the
        caller knows them; else they are looked up by the records' ids, flows and names."""
        self.specs = specs
        self.flows = flows
        if candidates is None:
            candidates = self.lookup_candidates()
        found = {}
        if candidates:
            found = {
                row["id"]: row
                for row in rows_of(Deployment.objects.filter(id__any=list(candidates)))
            }
        self.by_id = found
        self.by_key = {(row["flow_id"], row["name"]): row for row in found.values()}
        self.schedules: dict = {}
        stored = DeploymentSchedule.objects.filter(deployment_id__any=list(found))
        for row in rows_of(stored.order_by("-updated")) if found else []:
            self.schedules.setdefault(row["deployment_id"], []).append(row)

    def lookup_candidates(self) -> set:
        ids = [spec.id for spec in self.specs if spec.id]
        names = list({spec.name for spec in self.specs})
        rows = Deployment.objects.filter(Q(id__any=ids) | Q(name__any=names))
        return set(rows.values_list("id", flat=True))

    def find(self, spec: DeploymentSpec, flow: Flow) -> dict | None:
        if spec.id is not None:
            return self.by_id.get(spec.id)
        return self.by_key.get((flow.id, spec.name))

    def conflicts(self) -> list[str]:
        """A record whose id is new but whose flow and name belong to another deployment."""
        problems = []
        for spec in self.specs:
            flow = self.flows[spec.flow_id or spec.flow_name]
            owner = self.by_key.get((flow.id, spec.name))
            if spec.id is not None and owner is not None and owner["id"] != spec.id:
                problems.append(
                    f"{spec.record.where('name')}: deployment {spec.name!r} of flow "
                    f"{flow.name!r} already exists with id {owner['id']}"
                )
        problems += self.schedule_id_conflicts()
        return problems

    def schedule_id_conflicts(self) -> list[str]:
        wanted = {s.id: spec for spec in self.specs for s in (spec.schedules or []) if s.id}
        if not wanted:
            return []
        taken = DeploymentSchedule.objects.filter(id__any=list(wanted)).values_list(
            "id", "deployment_id"
        )
        problems = []
        for schedule_id, deployment_id in taken:
            spec = wanted[schedule_id]
            target = self.find(spec, self.flows[spec.flow_id or spec.flow_name])
            if target is None or target["id"] != deployment_id:
                problems.append(
                    f"{spec.record.where('schedules')}: schedule {schedule_id} "
                    f"belongs to another deployment ({deployment_id})"
                )
        return problems


def rows_of(queryset) -> list[dict]:
    """Every column, as Django reads it (JSON decoded, datetimes aware), in plain dicts."""
    fields = [f.attname for f in queryset.model._meta.concrete_fields]
    return list(queryset.values(*fields))


@dataclass
class SchedulePlan:
    """How a deployment's schedules change: rows to create, update and delete."""

    created: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    removed: list[uuid.UUID] = field(default_factory=list)

    def changes(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def final_state(self, stored: list[dict], kept_as_is: bool) -> tuple[int, Any]:
        """How many schedules the deployment has after the import, and the latest `updated`."""
        removed = set(self.removed)
        final = [row for row in stored if row["id"] not in removed] + self.created
        stamps = [row["updated"] for row in final]
        return len(final), max(stamps) if stamps else None

    @classmethod
    def of(cls, spec: DeploymentSpec, deployment_id, stored: list[dict], now) -> "SchedulePlan":
        plan = cls()
        if spec.schedules is None:
            return plan
        unmatched = list(stored)
        for n, wanted in enumerate(spec.schedules):
            columns = schedule_columns(wanted.schedule)
            row = take_match(wanted, columns, unmatched)
            if row is not None and not wanted.anchored and row["kind"] == columns["kind"]:
                columns["anchor_date"] = row["anchor_date"]
                columns["anchor_utc_offset"] = row["anchor_utc_offset"]
            stamp = now + timedelta(microseconds=n)
            if row is None:
                plan.created.append(new_schedule_row(wanted, columns, deployment_id, stamp))
            elif updated_schedule_row(row, wanted, columns, stamp):
                plan.updated.append(row)
        plan.removed = [row["id"] for row in unmatched]
        return plan


def take_match(wanted: ScheduleSpec, columns: dict, rows: list[dict]) -> dict | None:
    """The stored schedule this one updates: same slug, else same id, else same rule."""
    for row in rows:
        if matches(wanted, columns, row):
            rows.remove(row)
            return row
    return None


def matches(wanted: ScheduleSpec, columns: dict, row: dict) -> bool:
    if wanted.slug is not None:
        return row["slug"] == wanted.slug
    if wanted.id is not None:
        return row["id"] == wanted.id
    compared = SCHEDULE_RULE_COLUMNS if wanted.anchored else UNANCHORED_RULE_COLUMNS
    return row["slug"] is None and all(row[name] == columns[name] for name in compared)


UNANCHORED_RULE_COLUMNS = tuple(
    name for name in SCHEDULE_RULE_COLUMNS if name not in {"anchor_date", "anchor_utc_offset"}
)


def new_schedule_row(wanted: ScheduleSpec, columns: dict, deployment_id, stamp) -> dict:
    return {
        "id": wanted.id or uuid.uuid4(),
        "created": wanted.created or stamp,
        "updated": wanted.updated or stamp,
        "deployment_id": deployment_id,
        **columns,
        "active": True if wanted.active is None else wanted.active,
        "max_scheduled_runs": None
        if wanted.max_scheduled_runs is MISSING
        else wanted.max_scheduled_runs,
        "parameters": {} if wanted.parameters is MISSING else wanted.parameters,
        "slug": wanted.slug,
    }


def updated_schedule_row(row: dict, wanted: ScheduleSpec, columns: dict, stamp) -> bool:
    """Write what the record gives into the stored row; True if anything changed."""
    given = dict(columns)
    if wanted.active is not None:
        given["active"] = wanted.active
    if wanted.max_scheduled_runs is not MISSING:
        given["max_scheduled_runs"] = wanted.max_scheduled_runs
    if wanted.parameters is not MISSING:
        given["parameters"] = wanted.parameters
    if wanted.slug is not None:
        given["slug"] = wanted.slug
    for stamp_name in ("created", "updated"):
        if getattr(wanted, stamp_name) is not None:
            given[stamp_name] = getattr(wanted, stamp_name)
    if all(row[name] == value for name, value in given.items()):
        return False
    row.update(given)
    if wanted.updated is None:
        row["updated"] = stamp
    return True


class FlowResolver:
    """Finds or makes the flow of every record, in a few queries."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result

    def resolve(self, described, specs, flow_name: str | None) -> dict:
        self.write_described(described)
        ids = {spec.flow_id for spec in specs if spec.flow_id}
        names = {spec.flow_name for spec in specs if spec.flow_id is None}
        flows = {flow.id: flow for flow in Flow.objects.filter(id__in=ids)}
        flows.update({flow.name: flow for flow in Flow.objects.filter(name__in=names)})
        self.create_missing_by_id(ids - flows.keys(), flow_name, flows)
        self.create_missing_by_name(names - flows.keys(), flows)
        return flows

    def write_described(self, described: list[tuple[Record, Flow]]) -> None:
        if not described:
            return
        names = {flow.name: record for record, flow in described}
        taken = Flow.objects.filter(name__in=names).exclude(id__in=[f.id for _, f in described])
        problems = [
            f"{names[name].where('name')}: flow {name!r} already exists with id {flow_id}"
            for name, flow_id in taken.values_list("name", "id")
        ]
        if problems:
            raise ImportFailed(problems)
        existing = dict(
            Flow.objects.filter(id__in=[f.id for _, f in described]).values_list("id", "name")
        )
        fresh = [flow for _, flow in described if flow.id not in existing]
        Flow.objects.bulk_create(
            [flow for _, flow in described],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["updated", "name", "tags", "labels"],
        )
        self.result.flows_created += len(fresh)

    def create_missing_by_id(self, missing: set, flow_name: str | None, flows: dict) -> None:
        if flow_name and len(missing) > 1:
            raise ImportFailed(
                [
                    f"--flow-name names one flow, but the input refers to {len(missing)} flows "
                    "that neither the input nor the catalog describes"
                ]
            )
        for flow_id in sorted(missing, key=str):
            name = flow_name or f"flow-{flow_id.hex[:8]}"
            if Flow.objects.filter(name=name).exists():
                raise ImportFailed([f"cannot create flow {flow_id}: the name {name!r} is taken"])
            flows[flow_id] = Flow.objects.create(id=flow_id, name=name)
            self.result.flows_created += 1

    def create_missing_by_name(self, missing: set, flows: dict) -> None:
        for name in sorted(missing):
            flows[name] = Flow.objects.create(name=name)
            self.result.flows_created += 1


# Progress -------------------------------------------------------------------------------


def progress_printer(stream=None, every_seconds: float = 2.0) -> Progress:
    """A bar on a terminal, a line every few seconds otherwise."""
    stream = stream or sys.stderr
    last = [0.0]

    def show(done: int, total: int) -> None:
        if stream.isatty():
            width = 30
            filled = int(width * done / max(total, 1))
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done == total:
                stream.write("\n")
        elif time.monotonic() - last[0] >= every_seconds or done == total:
            stream.write(f"checked {done}/{total} deployments\n")
            last[0] = time.monotonic()
        stream.flush()

    return show
