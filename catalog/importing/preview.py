"""An import's plan, deployment by deployment, before anyone confirms it: what each record
would create or change (field by field, old → new, in Prefect's field names), what it
leaves unchanged, and which records have errors, with their places.

The plan is the import itself, run in a transaction that is rolled back: the same checks
and the same writes, so what it shows is what a confirmed import does. A record with an
error is left out and the rest planned again, so the plan shows both. Its fingerprint is
the state before the import of every deployment it touches (and its errors and counts):
confirming plans again in the transaction that writes, and writes only when the
fingerprint is still the one the user saw.
"""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import Q

from catalog.importing.records import Bundle, ImportFailed, ImportResult, Record
from catalog.importing.run import import_bundle
from catalog.importing.values import is_uuid
from catalog.models import Deployment
from catalog.rendering.json_cache import deployment_bodies
from catalog.rules.history_diff import changes
from catalog.services.context import WriteContext

# Rounds of leaving out records with errors: the checks of single records come first,
# then those across records and against the catalog, so two or three rounds suffice.
ROUNDS = 4
# Problems past this many are not matched to their records one by one (each is
# compared with every record): the plan then shows them and leaves nothing to confirm.
MATCHED_PROBLEMS = 500
# A prefect.yaml deployment the reader could not turn into a record at all.
YAML_DEPLOYMENT_PROBLEM = re.compile(r"^.+?:\d+: deployments\[\d+\][.\[:]")


@dataclass
class DeploymentPlan:
    """What the import does to one deployment: `action` is "create", "update",
    "unchanged" or "error"."""

    action: str
    flow_name: str
    name: str
    changes: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.flow_name}/{self.name}" if self.flow_name else self.name


@dataclass
class ImportPlan:
    """An import's plan. `blocking` problems belong to no single deployment (a file
    that cannot be read, a work pool record): nothing can be imported while there are
    any. Deployments with errors are left out of the import."""

    deployments: list[DeploymentPlan] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: ImportResult = field(default_factory=ImportResult)
    fingerprint: str = ""
    applied: bool = False

    def of(self, action: str) -> list[DeploymentPlan]:
        return [row for row in self.deployments if row.action == action]

    @property
    def errors(self) -> list[DeploymentPlan]:
        return self.of("error")

    @property
    def can_import(self) -> bool:
        return not self.blocking and any(row.action != "error" for row in self.deployments)

    @property
    def writes_anything(self) -> bool:
        result = self.result
        counted = (result.flows, result.work_pools, result.work_queues, result.variables)
        return bool(
            result.created
            or result.updated
            or any(kind.created or kind.updated for kind in counted)
            or result.concurrency_limits.created
            or result.concurrency_limits.updated
        )


def plan_import(
    bundle: Bundle,
    *,
    context: WriteContext,
    flow_name: str | None = None,
    apply_if: str | None = None,
    max_deployments: int | None = None,
) -> ImportPlan:
    """The import's plan, rolled back; with `apply_if` (a fingerprint), the import is
    kept when its plan still has that fingerprint, in the same transaction, and the
    plan says `applied`. Past `max_deployments` records, nothing is planned."""
    left_out: dict[int, list[str]] = {}
    blocking, skipped = split_source_problems(bundle.problems)
    count = len(bundle.deployments)
    if max_deployments is not None and count > max_deployments:
        too_many = (
            f"{count:,} deployments, more than the {max_deployments:,} an import here may "
            "hold (CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS); import them with "
            "`manage.py import_deployments`"
        )
        return errors_only(bundle, left_out, [too_many, *blocking], skipped)
    for _ in range(ROUNDS):
        kept = [record for n, record in enumerate(bundle.deployments) if n not in left_out]
        trial = replace(bundle, deployments=kept, problems=[])
        try:
            return planned(trial, context, flow_name, apply_if, left_out, bundle, blocking, skipped)
        except ImportFailed as failure:
            unmatched = match_problems(failure.problems, bundle.deployments, left_out)
            if unmatched is not None:
                blocking += unmatched
                break
    return errors_only(bundle, left_out, blocking, skipped)


def planned(trial, context, flow_name, apply_if, left_out, bundle, blocking, skipped):
    with transaction.atomic():
        before = bodies_before(trial.deployments)
        result = import_bundle(trial, flow_name=flow_name, context=context)
        rows, before_of = deployment_rows(result, before)
        plan = ImportPlan(notes=list(result.notes), result=result)
        plan.deployments = error_rows(bundle, left_out, skipped) + rows
        plan.blocking = blocking
        plan.result.dry_run = True
        plan.result.errors = len(plan.errors)
        plan.fingerprint = fingerprint_of(plan, before_of)
        plan.applied = apply_if is not None and apply_if == plan.fingerprint and plan.can_import
        if plan.applied:
            plan.result.dry_run = False
        else:
            transaction.set_rollback(True)
    return plan


def errors_only(bundle, left_out, blocking, skipped) -> ImportPlan:
    plan = ImportPlan(deployments=error_rows(bundle, left_out, skipped), blocking=blocking)
    plan.notes = list(bundle.notes)
    plan.result.errors = len(plan.errors)
    plan.fingerprint = fingerprint_of(plan, {})
    return plan


def split_source_problems(problems: list[str]) -> tuple[list[str], list[str]]:
    """What the sources could not read: a prefect.yaml deployment the reader refused is
    left out as a record with errors is; anything else blocks the import."""
    blocking = [problem for problem in problems if not YAML_DEPLOYMENT_PROBLEM.match(problem)]
    skipped = [problem for problem in problems if YAML_DEPLOYMENT_PROBLEM.match(problem)]
    return blocking, skipped


def match_problems(problems: list[str], records: list[Record], left_out: dict) -> list | None:
    """Each problem added to the record it names, in `left_out`; None when every problem
    names a deployment record, else the problems that name none."""
    if len(problems) > MATCHED_PROBLEMS:
        return problems
    patterns = [(n, place_pattern(record)) for n, record in enumerate(records)]
    unmatched = []
    for problem in problems:
        found = next((n for n, pattern in patterns if pattern.match(problem)), None)
        if found is None:
            unmatched.append(problem)
        else:
            left_out.setdefault(found, []).append(problem)
    return unmatched or None


def place_pattern(record: Record) -> re.Pattern:
    """How a problem about this record begins: its source, its line (a JSON Lines
    record's own; a prefect.yaml's names the line of the value), and its path."""
    own_line = record.line and record.place is None
    line = re.escape(f":{record.line}") if own_line else r"(?::\d+)?"
    path = re.escape(record.path) + r"(?=[.\[:])" if record.path else ""
    return re.compile(rf"{re.escape(record.source)}{line}: {path}")


def error_rows(bundle: Bundle, left_out: dict, skipped: list[str]) -> list[DeploymentPlan]:
    rows = []
    for n, problems in sorted(left_out.items()):
        data = bundle.deployments[n].data
        data = data if isinstance(data, dict) else {}
        rows.append(
            DeploymentPlan("error", text_of(data.get("flow_name")), name_of(data), [], problems)
        )
    rows += [DeploymentPlan("error", "", yaml_place(problem), [], [problem]) for problem in skipped]
    return rows


def name_of(data: dict) -> str:
    name = data.get("name")
    return name if isinstance(name, str) else "(no name)"


def text_of(value) -> str:
    return value if isinstance(value, str) else ""


def yaml_place(problem: str) -> str:
    found = re.search(r"deployments\[\d+\]", problem)
    return found.group(0) if found else ""


# Before and after -------------------------------------------------------------------------


def bodies_before(records: list[Record]) -> dict:
    """The API JSON of every stored deployment a record may name (by id, or by flow and
    name), before the import writes; keyed by id."""
    ids, names, pairs = set(), set(), set()
    for record in records:
        data = record.data if isinstance(record.data, dict) else {}
        if isinstance(data.get("id"), str) and is_uuid(data["id"]):
            ids.add(data["id"].lower())
        if isinstance(data.get("name"), str):
            names.add(data["name"])
            flow = data.get("flow_name") or data.get("flow_id")
            pairs.add((str(flow).lower(), data["name"]))
    rows = Deployment.objects.filter(Q(id__in=ids) | Q(name__in=names))
    columns = rows.values_list("id", "name", "flow_id", "flow__name")
    wanted = [
        row_id
        for row_id, name, flow_id, flow_name in columns
        if str(row_id) in ids or (str(flow_id), name) in pairs or (flow_name.lower(), name) in pairs
    ]
    return bodies_of(wanted)


def bodies_of(ids: list) -> dict:
    """The API JSON of each deployment, by id: the bodies kept for the API's reads (an
    import keeps those it writes), rendered where none is kept."""
    bodies = (json.loads(body) for body in deployment_bodies(list(ids)))
    return {uuid.UUID(body["id"]): body for body in bodies}


def deployment_rows(result: ImportResult, before: dict) -> tuple[list[DeploymentPlan], dict]:
    """Each deployment the import touched, with its changes; and the state before of
    each (None for a new one), by flow and name."""
    ids = ids_by_name(result)
    changed = [ids[(c.flow_name, c.name)] for c in result.changes if c.action != "unchanged"]
    after = bodies_of(changed)
    rows, before_of = [], {}
    for change in result.changes:
        deployment_id = ids[(change.flow_name, change.name)]
        old = before.get(deployment_id)
        before_of[f"{change.flow_name}/{change.name}"] = old
        found = [] if change.action == "unchanged" else diff(old, after[deployment_id])
        rows.append(DeploymentPlan(change.action, change.flow_name, change.name, found))
    order = {"create": 0, "update": 1, "unchanged": 2}
    rows.sort(key=lambda row: (order[row.action], row.flow_name, row.name))
    return rows, before_of


def ids_by_name(result: ImportResult) -> dict:
    flows = {change.flow_name for change in result.changes}
    names = {change.name for change in result.changes}
    rows = Deployment.objects.filter(flow__name__in=flows, name__in=names)
    return {(flow, name): id for id, flow, name in rows.values_list("id", "flow__name", "name")}


def diff(before: dict | None, after: dict) -> list[dict]:
    found = changes("deployment", before, after)
    if before is None:  # a new deployment's ids are made by the import: not worth a line
        found = [change for change in found if change["path"] not in {"id", "flow_id"}]
    return found


def fingerprint_of(plan: ImportPlan, before_of: dict) -> str:
    """The state before of every deployment the plan touches, its errors and counts."""
    content = {
        "before": before_of,
        "errors": [row.problems for row in plan.errors],
        "blocking": plan.blocking,
        "report": plan.result.report(),
    }
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
