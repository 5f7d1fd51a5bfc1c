"""The one place where outside JSON becomes catalog rows.

`import_paths()` reads files of Prefect API JSON (one deployment, a list of them, a
`/deployments/paginate` page, or this project's bundle of flows and deployments),
checks every record, then writes them all in one transaction, or nothing at all.
Records keep their ids and timestamps, so importing the same file twice changes nothing.
"""

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import schedules
from catalog.datetimes import DatetimeError, parse_datetime
from catalog.models import (
    DEFAULT_AGENT_POOL,
    DEFAULT_QUEUE,
    FLOW_ID_LABEL,
    CollisionStrategy,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    DeploymentStatus,
    Flow,
    WorkPool,
    WorkQueue,
)

MISSING = object()


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
    """The import was refused; nothing was written. Each problem names file and record."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Record:
    """One object read from a file, and where it was found (`file: record N`)."""

    location: str
    data: Any


@dataclass
class ImportResult:
    flows_created: int = 0
    flows_updated: int = 0
    deployments_created: int = 0
    deployments_updated: int = 0
    schedules_written: int = 0
    concurrency_limits_written: int = 0
    work_pools_created: int = 0
    work_queues_created: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "Would import" if self.dry_run else "Imported"
        return (
            f"{verb} {self.deployments_created} new and {self.deployments_updated} updated "
            f"deployments, {self.schedules_written} schedules, {self.flows_created} new flows, "
            f"{self.concurrency_limits_written} concurrency limits, "
            f"{self.work_pools_created} new work pools and {self.work_queues_created} new "
            "work queues."
        )


# Reading files -------------------------------------------------------------------------


@dataclass
class Bundle:
    flows: list[Record] = field(default_factory=list)
    deployments: list[Record] = field(default_factory=list)


def read_paths(paths: Iterable[Path]) -> tuple[Bundle, list[str]]:
    """Every record of every file, and a problem for each file that cannot be read."""
    bundle, problems = Bundle(), []
    for path in paths:
        try:
            read_document(path, json.loads(Path(path).read_text(encoding="utf-8")), bundle)
        except json.JSONDecodeError as exc:
            problems.append(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot read: {exc}")
        except RecordError as exc:
            problems.append(f"{path}: {exc}")
    return bundle, problems


def read_document(path: Path, document: Any, bundle: Bundle) -> None:
    """Sort a file's objects into flows and deployments by the shape of the document."""
    if isinstance(document, list):
        bundle.deployments += records(path, "record", document)
    elif isinstance(document, Mapping) and "results" in document:
        bundle.deployments += records(path, "results", expect_list(document["results"], "results"))
    elif isinstance(document, Mapping) and ("deployments" in document or "flows" in document):
        bundle.flows += records(path, "flows", expect_list(document.get("flows", []), "flows"))
        bundle.deployments += records(
            path, "deployments", expect_list(document.get("deployments", []), "deployments")
        )
    elif isinstance(document, Mapping):
        bundle.deployments.append(Record(f"{path}: record 1", document))
    else:
        raise RecordError("", "expected a deployment object, a list of them or a page")


def records(path: Path, label: str, items: list) -> list[Record]:
    if label == "record":
        return [Record(f"{path}: record {n}", item) for n, item in enumerate(items, start=1)]
    return [Record(f"{path}: {label}[{n}]", item) for n, item in enumerate(items)]


def expect_list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise RecordError(where, "expected a list")
    return value


# Checking values -----------------------------------------------------------------------


def get(data: Mapping, key: str, default: Any = MISSING) -> Any:
    if key in data:
        return data[key]
    if default is MISSING:
        raise RecordError(key, "Field required")
    return default


def as_uuid(value: Any, where: str, *, nullable: bool = False) -> uuid.UUID | None:
    if value is None and nullable:
        return None
    try:
        return uuid.UUID(str(value)) if isinstance(value, str | uuid.UUID) else uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise RecordError(where, f"Input should be a valid UUID, got {value!r}") from None


def as_datetime(value: Any, where: str, *, nullable: bool = False) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        return parse_datetime(value)
    except DatetimeError as exc:
        raise RecordError(where, str(exc)) from None


def as_type(value: Any, kind: type | tuple, where: str, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    # bool is an int in Python, but never a valid count or limit in Prefect.
    if isinstance(value, bool) and kind in (int, (int, float)):
        raise RecordError(where, f"expected {type_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise RecordError(where, f"expected {type_name(kind)}, got {json.dumps(value)[:80]}")
    return value


def type_name(kind: type | tuple) -> str:
    names = {
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        dict: "an object",
        list: "a list",
        float: "a number",
    }
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def as_string_list(value: Any, where: str) -> list[str]:
    for n, item in enumerate(as_type(value, list, where)):
        as_type(item, str, f"{where}[{n}]")
    return value


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


# Building rows -------------------------------------------------------------------------


@dataclass
class WorkTarget:
    pool_name: str
    queue_name: str
    queue_id: uuid.UUID | None


@dataclass
class DeploymentDraft:
    location: str
    deployment: Deployment
    schedules: list[DeploymentSchedule]
    limit: ConcurrencyLimit | None
    deprecated_limit: int | None
    work_target: WorkTarget | None


def flow_from_record(data: Any) -> Flow:
    data = as_type(data, dict, "")
    now = timezone.now()
    return Flow(
        id=as_uuid(get(data, "id"), "id"),
        created=as_datetime(get(data, "created", now), "created"),
        updated=as_datetime(get(data, "updated", now), "updated"),
        name=as_type(get(data, "name"), str, "name"),
        tags=as_string_list(get(data, "tags", []), "tags"),
        labels=as_type(get(data, "labels", {}), dict, "labels", nullable=True),
    )


def deployment_from_record(record: Record) -> DeploymentDraft:
    data = as_type(record.data, dict, "")
    now = timezone.now()
    deployment = Deployment(
        id=as_uuid(get(data, "id"), "id") if "id" in data else None,
        created=as_datetime(get(data, "created", now), "created"),
        updated=as_datetime(get(data, "updated", now), "updated"),
        name=as_type(get(data, "name"), str, "name"),
        version=as_type(get(data, "version", None), str, "version", nullable=True),
        description=as_type(get(data, "description", None), str, "description", nullable=True),
        flow_id=as_uuid(get(data, "flow_id"), "flow_id"),
        paused=as_type(get(data, "paused", False), bool, "paused"),
        job_variables=as_type(get(data, "job_variables", {}), dict, "job_variables"),
        parameters=as_type(get(data, "parameters", {}), dict, "parameters"),
        tags=as_string_list(get(data, "tags", []), "tags"),
        labels=as_type(get(data, "labels", {}), dict, "labels", nullable=True) or {},
        last_polled=as_datetime(get(data, "last_polled", None), "last_polled", nullable=True),
        parameter_openapi_schema=as_type(
            get(data, "parameter_openapi_schema", {}),
            dict,
            "parameter_openapi_schema",
            nullable=True,
        ),
        path=as_type(get(data, "path", None), str, "path", nullable=True),
        pull_steps=as_pull_steps(get(data, "pull_steps", [])),
        entrypoint=as_type(get(data, "entrypoint", None), str, "entrypoint", nullable=True),
        storage_document_id=as_uuid(
            get(data, "storage_document_id", None), "storage_document_id", nullable=True
        ),
        infrastructure_document_id=as_uuid(
            get(data, "infrastructure_document_id", None),
            "infrastructure_document_id",
            nullable=True,
        ),
        created_by=as_actor(get(data, "created_by", None), "created_by"),
        updated_by=as_actor(get(data, "updated_by", None), "updated_by"),
        status=as_choice(get(data, "status", "NOT_READY"), DeploymentStatus, "status"),
        enforce_parameter_schema=as_type(
            get(data, "enforce_parameter_schema", True), bool, "enforce_parameter_schema"
        ),
    )
    set_concurrency_options(deployment, get(data, "concurrency_options", None))
    return DeploymentDraft(
        location=record.location,
        deployment=deployment,
        schedules=schedules_from_record(get(data, "schedules", []), now),
        limit=limit_from_record(get(data, "global_concurrency_limit", None)),
        deprecated_limit=as_positive_int(get(data, "concurrency_limit", None), "concurrency_limit"),
        work_target=work_target_from_record(data),
    )


def as_pull_steps(value: Any) -> list | None:
    if value is None:
        return None
    for n, step in enumerate(as_type(value, list, "pull_steps")):
        as_type(step, dict, f"pull_steps[{n}]")
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


def set_concurrency_options(deployment: Deployment, value: Any) -> None:
    if value is None:
        return
    options = as_type(value, dict, "concurrency_options")
    deployment.concurrency_collision_strategy = as_choice(
        get(options, "collision_strategy"),
        CollisionStrategy,
        "concurrency_options.collision_strategy",
    )
    grace = as_type(
        options.get("grace_period_seconds"),
        int,
        "concurrency_options.grace_period_seconds",
        nullable=True,
    )
    if grace is not None and not 60 <= grace <= 86400:
        raise RecordError(
            "concurrency_options.grace_period_seconds", "must be between 60 and 86400"
        )
    deployment.concurrency_grace_period_seconds = grace


def schedules_from_record(value: Any, now: datetime) -> list[DeploymentSchedule]:
    rows = []
    for n, entry in enumerate(as_type(value, list, "schedules")):
        try:
            rows.append(schedule_from_record(entry, now))
        except RecordError as exc:
            raise exc.inside(f"schedules[{n}]") from None
    slugs = [row.slug for row in rows if row.slug is not None]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        raise RecordError("schedules", f"slugs must be unique, repeated: {', '.join(duplicates)}")
    return rows


def schedule_from_record(value: Any, now: datetime) -> DeploymentSchedule:
    data = as_type(value, dict, "")
    row = DeploymentSchedule(
        id=as_uuid(get(data, "id"), "id") if "id" in data else uuid.uuid4(),
        created=as_datetime(get(data, "created", now), "created"),
        updated=as_datetime(get(data, "updated", now), "updated"),
        active=as_type(get(data, "active", True), bool, "active"),
        max_scheduled_runs=as_positive_int(
            get(data, "max_scheduled_runs", None), "max_scheduled_runs"
        ),
        parameters=as_type(get(data, "parameters", {}), dict, "parameters"),
        slug=as_type(get(data, "slug", None), str, "slug", nullable=True),
    )
    if "deployment_id" in data:
        row.deployment_id = as_uuid(data["deployment_id"], "deployment_id")
    try:
        row.schedule = schedules.schedule_from_json(get(data, "schedule"), now=now)
    except schedules.ScheduleError as exc:
        where = "schedule" if exc.field == "schedule" else f"schedule.{exc.field}"
        raise RecordError(where, exc.message) from None
    return row


def limit_from_record(value: Any) -> ConcurrencyLimit | None:
    if value is None:
        return None
    data = as_type(value, dict, "global_concurrency_limit")
    where = "global_concurrency_limit"
    now = timezone.now()
    limit = ConcurrencyLimit(
        id=as_uuid(get(data, "id"), f"{where}.id"),
        created=as_datetime(data.get("created", now), f"{where}.created"),
        updated=as_datetime(data.get("updated", now), f"{where}.updated"),
        active=as_type(data.get("active", True), bool, f"{where}.active"),
        name=as_type(get(data, "name"), str, f"{where}.name"),
        limit=as_type(get(data, "limit"), int, f"{where}.limit"),
        active_slots=as_type(data.get("active_slots", 0), int, f"{where}.active_slots"),
        denied_slots=as_type(data.get("denied_slots", 0), int, f"{where}.denied_slots"),
        slot_decay_per_second=float(
            as_type(
                data.get("slot_decay_per_second", 0.0),
                (int, float),
                f"{where}.slot_decay_per_second",
            )
        ),
        avg_slot_occupancy_seconds=float(
            as_type(
                data.get("avg_slot_occupancy_seconds", 2.0),
                (int, float),
                f"{where}.avg_slot_occupancy_seconds",
            )
        ),
    )
    check_model_fields(limit, where, exclude=())
    return limit


def work_target_from_record(data: Mapping) -> WorkTarget | None:
    queue_name = as_type(data.get("work_queue_name"), str, "work_queue_name", nullable=True)
    pool_name = as_type(data.get("work_pool_name"), str, "work_pool_name", nullable=True)
    queue_id = as_uuid(data.get("work_queue_id"), "work_queue_id", nullable=True)
    if not queue_name and not pool_name:
        return None
    return WorkTarget(pool_name or DEFAULT_AGENT_POOL, queue_name or DEFAULT_QUEUE, queue_id)


def check_model_fields(instance, where: str, exclude: Sequence[str]) -> None:
    """The model's own field rules (lengths, choices, validators), as the admin applies them."""
    try:
        instance.clean_fields(exclude=list(exclude))
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        prefix = f"{where}.{name}" if where else name
        raise RecordError(prefix, " ".join(messages)) from None


# Writing -------------------------------------------------------------------------------


def fields_an_import_updates(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in {"id", "created"}]


DEPLOYMENT_FIELDS = fields_an_import_updates(Deployment)
LIMIT_FIELDS = fields_an_import_updates(ConcurrencyLimit)


def import_paths(
    paths: Sequence[Path], *, flow_name: str | None = None, dry_run: bool = False
) -> ImportResult:
    """Import every record of `paths` in one transaction; raise `ImportFailed` if any is bad."""
    bundle, problems = read_paths(paths)
    flows, flow_problems = build_flows(bundle.flows)
    drafts, deployment_problems = build_drafts(bundle.deployments)
    problems += flow_problems + deployment_problems
    if problems:
        raise ImportFailed(problems)
    return write_all(flows, drafts, flow_name=flow_name, dry_run=dry_run)


def build_flows(items: list[Record]) -> tuple[list[tuple[str, Flow]], list[str]]:
    flows, problems = [], []
    for record in items:
        try:
            flow = flow_from_record(record.data)
            check_model_fields(flow, "", exclude=["id"])
            flows.append((record.location, flow))
        except RecordError as exc:
            problems.append(f"{record.location}: {exc}")
    return flows, problems


def build_drafts(items: list[Record]) -> tuple[list[DeploymentDraft], list[str]]:
    drafts, problems = [], []
    for record in items:
        try:
            drafts.append(deployment_from_record(record))
        except RecordError as exc:
            problems.append(f"{record.location}: {exc}")
    return drafts, problems


def write_all(
    flows: list[tuple[str, Flow]],
    drafts: list[DeploymentDraft],
    *,
    flow_name: str | None,
    dry_run: bool,
) -> ImportResult:
    result = ImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            writer = Writer(result)
            writer.write_flows(flows)
            writer.resolve_undescribed_flows(drafts, flow_name)
            writer.write_deployments(drafts)
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        raise ImportFailed([f"the database refused the import: {exc}"]) from None
    return result


class Writer:
    """Writes checked records; raises `ImportFailed` on conflicts with existing rows."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.pools: dict[str, WorkPool] = {}
        self.queues: dict[tuple[str, str], WorkQueue] = {}

    def write_flows(self, flows: list[tuple[str, Flow]]) -> None:
        problems = []
        existing = Flow.objects.in_bulk([flow.id for _, flow in flows])
        names = dict(
            Flow.objects.filter(name__in=[f.name for _, f in flows]).values_list("name", "id")
        )
        for location, flow in flows:
            owner = names.get(flow.name)
            if owner is not None and owner != flow.id:
                problems.append(
                    f"{location}: name: flow {flow.name!r} already exists with id {owner}"
                )
        if problems:
            raise ImportFailed(problems)
        Flow.objects.bulk_create(
            [flow for _, flow in flows],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["updated", "name", "tags", "labels"],
        )
        self.result.flows_created += len([f for _, f in flows if f.id not in existing])
        self.result.flows_updated += len([f for _, f in flows if f.id in existing])

    def resolve_undescribed_flows(self, drafts: list[DeploymentDraft], flow_name: str | None):
        wanted = {draft.deployment.flow_id for draft in drafts}
        missing = wanted - set(Flow.objects.filter(id__in=wanted).values_list("id", flat=True))
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
            Flow.objects.create(id=flow_id, name=name)
            self.result.flows_created += 1

    def write_deployments(self, drafts: list[DeploymentDraft]) -> None:
        self.assign_ids(drafts)
        self.check_conflicts(drafts)
        flows = Flow.objects.in_bulk({draft.deployment.flow_id for draft in drafts})
        for draft in drafts:
            self.prepare(draft, flows[draft.deployment.flow_id])
        existing = set(
            Deployment.objects.filter(id__in=[d.deployment.id for d in drafts]).values_list(
                "id", flat=True
            )
        )
        Deployment.objects.bulk_create(
            [draft.deployment for draft in drafts],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=DEPLOYMENT_FIELDS,
            batch_size=500,
        )
        self.write_deprecated_limits(drafts)
        self.write_schedules(drafts)
        self.result.deployments_updated += len(existing)
        self.result.deployments_created += len(drafts) - len(existing)

    def assign_ids(self, drafts: list[DeploymentDraft]) -> None:
        """Records without an id update the deployment of the same flow and name, if any."""
        owners = self.owners_by_name(drafts)
        for draft in drafts:
            deployment = draft.deployment
            if deployment.id is None:
                deployment.id = owners.get((deployment.flow_id, deployment.name), uuid.uuid4())

    @staticmethod
    def owners_by_name(drafts: list[DeploymentDraft]) -> dict[tuple, uuid.UUID]:
        """The ids of stored deployments that share a flow and name with a record."""
        flow_ids = {draft.deployment.flow_id for draft in drafts}
        names = {draft.deployment.name for draft in drafts}
        stored = Deployment.objects.filter(flow_id__in=flow_ids, name__in=names)
        return {
            (flow_id, name): id for id, flow_id, name in stored.values_list("id", "flow_id", "name")
        }

    def check_conflicts(self, drafts: list[DeploymentDraft]) -> None:
        problems, seen_ids, seen_names = [], {}, {}
        owners = self.owners_by_name(drafts)
        for draft in drafts:
            deployment = draft.deployment
            key = (deployment.flow_id, deployment.name)
            for seen, value, what in ((seen_ids, deployment.id, "id"), (seen_names, key, "name")):
                if value in seen:
                    problems.append(f"{draft.location}: {what}: repeats {seen[value]}")
                seen[value] = draft.location
            owner = owners.get(key)
            if owner is not None and owner != deployment.id:
                problems.append(
                    f"{draft.location}: name: deployment {deployment.name!r} of this flow "
                    f"already exists with id {owner}"
                )
            try:
                check_model_fields(deployment, "", exclude=["id", "flow"])
            except RecordError as exc:
                problems.append(f"{draft.location}: {exc}")
        problems += self.check_schedule_ids(drafts)
        if problems:
            raise ImportFailed(problems)

    def check_schedule_ids(self, drafts: list[DeploymentDraft]) -> list[str]:
        owners = {row.id: draft for draft in drafts for row in draft.schedules}
        problems = []
        for draft in drafts:
            for n, row in enumerate(draft.schedules):
                if row.deployment_id is not None and row.deployment_id != draft.deployment.id:
                    problems.append(
                        f"{draft.location}: schedules[{n}].deployment_id: "
                        f"is {row.deployment_id}, not the deployment's id"
                    )
                if owners[row.id] is not draft:
                    problems.append(f"{draft.location}: schedules[{n}].id: used twice")
        taken = (
            DeploymentSchedule.objects.filter(id__in=list(owners))
            .exclude(deployment_id__in=[d.deployment.id for d in drafts])
            .values_list("id", "deployment_id")
        )
        for schedule_id, deployment_id in taken:
            problems.append(
                f"{owners[schedule_id].location}: schedule {schedule_id} belongs "
                f"to another deployment ({deployment_id})"
            )
        return problems

    def prepare(self, draft: DeploymentDraft, flow: Flow) -> None:
        deployment = draft.deployment
        deployment.flow = flow
        if FLOW_ID_LABEL not in deployment.labels:
            deployment.labels = deployment.labels_with_flow_id()
        if draft.limit is not None:
            deployment.global_concurrency_limit = self.write_limit(draft)
        if draft.work_target is not None:
            deployment.work_queue = self.work_queue(draft.work_target, draft.location)
        for row in draft.schedules:
            row.deployment_id = deployment.id

    def write_limit(self, draft: DeploymentDraft) -> ConcurrencyLimit:
        limit = draft.limit
        taken = ConcurrencyLimit.objects.filter(name=limit.name).exclude(id=limit.id).first()
        if taken is not None:
            raise ImportFailed(
                [
                    f"{draft.location}: global_concurrency_limit.name: a limit "
                    f"named {limit.name!r} already exists with id {taken.id}"
                ]
            )
        deployment_id = draft.deployment.id
        if limit.name == ConcurrencyLimit.name_for_deployment(deployment_id):
            # The deployment's own limit, made by `concurrency_limit: N`: it goes with it.
            limit.owner_id = deployment_id
        ConcurrencyLimit.objects.bulk_create(
            [limit],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=LIMIT_FIELDS,
        )
        self.result.concurrency_limits_written += 1
        return limit

    def write_deprecated_limits(self, drafts: list[DeploymentDraft]) -> None:
        """`concurrency_limit: N` without a limit object: the `deployment:<id>` limit."""
        for draft in drafts:
            if draft.deprecated_limit is None or draft.limit is not None:
                continue
            deployment = draft.deployment
            limit, _ = ConcurrencyLimit.objects.update_or_create(
                name=ConcurrencyLimit.name_for_deployment(deployment.id),
                defaults={"limit": draft.deprecated_limit, "owner_id": deployment.id},
            )
            Deployment.objects.filter(id=deployment.id).update(global_concurrency_limit=limit)
            self.result.concurrency_limits_written += 1

    def work_pool(self, name: str) -> WorkPool:
        if name not in self.pools:
            pool, created = WorkPool.objects.get_or_create(name=name)
            if created:
                pool.default_queue = WorkQueue.objects.create(name=DEFAULT_QUEUE, work_pool=pool)
                pool.save(update_fields=["default_queue"])
                self.result.work_pools_created += 1
                self.result.work_queues_created += 1
            self.pools[name] = pool
        return self.pools[name]

    def work_queue(self, target: WorkTarget, location: str) -> WorkQueue:
        key = (target.pool_name, target.queue_name)
        if key in self.queues:
            return self.queues[key]
        pool = self.work_pool(target.pool_name)
        queue = WorkQueue.objects.filter(work_pool=pool, name=target.queue_name).first()
        if queue is None:
            if target.queue_id and WorkQueue.objects.filter(id=target.queue_id).exists():
                raise ImportFailed(
                    [
                        f"{location}: work_queue_id: queue {target.queue_id} "
                        f"exists, but not as {target.queue_name!r} in "
                        f"{target.pool_name!r}"
                    ]
                )
            queue = WorkQueue.objects.create(
                id=target.queue_id or uuid.uuid4(), name=target.queue_name, work_pool=pool
            )
            self.result.work_queues_created += 1
        self.queues[key] = queue
        return queue

    def write_schedules(self, drafts: list[DeploymentDraft]) -> None:
        DeploymentSchedule.objects.filter(
            deployment_id__in=[draft.deployment.id for draft in drafts]
        ).delete()
        rows = [row for draft in drafts for row in draft.schedules]
        DeploymentSchedule.objects.bulk_create(rows, batch_size=500)
        self.result.schedules_written += len(rows)
