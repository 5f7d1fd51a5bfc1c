"""Planning an import: the stored rows the records name, and how each deployment and its
schedules change."""

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Q

from catalog.importing.records import MISSING, ImportFailed, ImportResult, Record
from catalog.importing.shared_rows import to_write
from catalog.importing.specs import DeploymentSpec, ScheduleSpec
from catalog.models import Deployment, DeploymentSchedule, Flow
from catalog.rules.schedules import SCHEDULE_RULE_COLUMNS, schedule_columns
from catalog.services.flows import flow_problems


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

    def queue_ids(self) -> set:
        """The queues of the stored deployments the records name."""
        return {row["work_queue_id"] for row in self.by_id.values() if row["work_queue_id"]}

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

    def resolve(self, specs, flow_name: str | None) -> dict:
        """The flow of each record, by its flow's id or name (`write_described` first)."""
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
        Flow.objects.bulk_create(
            to_write(Flow, [flow for _, flow in described], self.result.flows),
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["updated", "name", "tags", "labels"],
        )

    def create_missing_by_id(self, missing: set, flow_name: str | None, flows: dict) -> None:
        if flow_name and len(missing) > 1:
            raise ImportFailed(
                [
                    f"--flow-name names one flow, but the input refers to {len(missing)} flows "
                    "that neither the input nor the catalog describes"
                ]
            )
        for problem in flow_problems({"name": flow_name}) if flow_name else []:
            raise ImportFailed([f"--flow-name: {problem.message}"])
        for flow_id in sorted(missing, key=str):
            name = flow_name or f"flow-{flow_id.hex[:8]}"
            if Flow.objects.filter(name=name).exists():
                raise ImportFailed([f"cannot create flow {flow_id}: the name {name!r} is taken"])
            flows[flow_id] = Flow.objects.create(id=flow_id, name=name)
            self.result.flows.count("create")

    def create_missing_by_name(self, missing: set, flows: dict) -> None:
        for name in sorted(missing):
            flows[name] = Flow.objects.create(name=name)
            self.result.flows.count("create")
