"""Writing checked records in bulk: new deployments and schedules by COPY (PostgreSQL) or
batched INSERTs, the rest by bulk updates, after every plan has passed the write core's
rules across a deployment's values (parameters against an enforced schema, job variables
against their pool's)."""

import uuid

from django.utils import timezone

from catalog.importing.checks import Checked
from catalog.importing.fingerprints import record_digest, state_stamp
from catalog.importing.plan import ExistingDeployments, FlowResolver, Plan, SchedulePlan
from catalog.importing.records import MISSING, Change, ImportFailed, ImportResult, RecordError
from catalog.importing.shared_rows import SharedRows
from catalog.importing.specs import DeploymentSpec
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    WorkPool,
    labels_with_flow_id,
)
from catalog.models.bulk import insert_rows
from catalog.models.definition_counts import compact_definition_counts
from catalog.models.deployments import FLOW_ID_LABEL
from catalog.services.context import WriteContext
from catalog.services.deployment_rules import cross_field_problems

SCHEDULE_COLUMNS = [
    f.attname
    for f in DeploymentSchedule._meta.concrete_fields
    if f.attname not in {"id", "deployment_id", "created"}
]


class Writer:
    """Reconciles checked records with the catalog, in bulk."""

    def __init__(self, result: ImportResult, context: WriteContext | None = None) -> None:
        self.result = result
        self.context = context
        self.now = timezone.now()
        self.shared = SharedRows(result)
        self.problems: list[str] = []
        self.listed_limits: set = set()
        self.flows = FlowResolver(result)

    def write_shared(self, checked: Checked) -> None:
        """Pools, variables, listed limits and described flows: before any deployment."""
        self.shared.write_pools(checked.pools)
        self.shared.write_variables(checked.variables)
        limits = [limit for _, limit in checked.limits]
        self.listed_limits = {limit.id for limit in limits}
        self.shared.write_limits(limits)
        self.flows.write_described(checked.flows)

    def write_batch(self, specs: list[DeploymentSpec], candidates, flow_name: str | None) -> None:
        """One batch of checked deployments, with the limits they embed and their flows.
        A limit listed on its own wins over the same limit embedded in a deployment,
        which lacks the slot statistics."""
        embedded = [
            spec.limit
            for spec in specs
            if spec.limit not in (MISSING, None) and spec.limit.id not in self.listed_limits
        ]
        self.shared.write_limits(embedded)
        flows = self.flows.resolve(specs, flow_name)
        self.write_deployments(specs, flows, candidates)

    def finish(self) -> None:
        """After every batch: limits listed before the deployments that own them; the
        definitions' counts that the batches' writes added, summed (one row each)."""
        self.shared.adopt_owned_limits()
        compact_definition_counts()

    # Deployments -------------------------------------------------------------------

    def write_deployments(self, specs: list[DeploymentSpec], flows: dict, candidates) -> None:
        self.shared.load_work_queues(specs)
        existing = ExistingDeployments(specs, flows, candidates)
        problems = existing.conflicts()
        if problems:
            raise ImportFailed(problems)
        for spec in specs:
            if spec.work_target not in (MISSING, None):
                self.shared.work_queue(spec.work_target, spec.record)
        self.shared.load_pools_of_queues(existing.queue_ids())
        plans: list[Plan] = []

        def new_rows():
            # Planning runs no query from here on, so the new rows can go to the
            # database while the next ones are planned: PostgreSQL indexes them meanwhile.
            for spec in specs:
                plan = self.plan(spec, flows, existing)
                plans.append(plan)
                if plan.stored is None:
                    yield plan.row

        insert_rows(Deployment, new_rows())
        if self.problems:
            raise ImportFailed(self.problems)
        self.apply(plans)

    def plan(self, spec: DeploymentSpec, flows: dict, existing: ExistingDeployments) -> Plan:
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
            queue = self.shared.work_queue(target, spec.record) if target else None
            row["work_queue_id"] = queue.id if queue else None
            touched.add("work_queue_id")
        if spec.limit is not MISSING:
            row["global_concurrency_limit_id"] = spec.limit.id if spec.limit else None
            touched.add("global_concurrency_limit_id")
        for stamp in ("created", "updated"):
            if getattr(spec, stamp) is not None:
                row[stamp] = getattr(spec, stamp)
                touched.add(stamp)
        self.check(spec, row, touched)
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

    def check(self, spec: DeploymentSpec, row: dict, touched: set) -> None:
        """The write core's rules across the deployment's columns, where the record gives
        one of their inputs (`touched`); a new deployment's other columns are defaults."""
        pool = self.pool_of(row, touched)
        problems = cross_field_problems(row, changed=touched, pool=pool)
        for problem in problems[:1]:
            self.problems.append(spec.record.problem(RecordError(problem.where(), problem.message)))

    def pool_of(self, row: dict, touched: set) -> WorkPool | None:
        """The pool whose variables schema the job variables must fit, when either moves."""
        if not {"job_variables", "work_queue_id"} & touched:
            return None
        return self.shared.pool_of_queue(row["work_queue_id"])

    def labels_for(self, spec: DeploymentSpec, row: dict, flow: Flow) -> dict:
        """Labels as given; Prefect's `prefect.flow.id` label is added when missing."""
        labels = row.get("labels") or {}
        if spec.labels is not MISSING:
            labels = spec.labels
        if FLOW_ID_LABEL in labels:
            return labels
        return labels_with_flow_id(flow, labels)

    def apply(self, plans: list[Plan]) -> None:
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
        for plan in plans:
            self.count(plan)

    def refresh_fingerprints(self, plans: list[Plan]) -> None:
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

    def count(self, plan: Plan) -> None:
        if plan.stored is None:
            action, self.result.created = "create", self.result.created + 1
        elif plan.is_change():
            action, self.result.updated = "update", self.result.updated + 1
        else:
            action, self.result.unchanged = "unchanged", self.result.unchanged + 1
        fields = [name for name in plan.changed if name != "updated"]
        fields += ["schedules"] if plan.schedules.changes() else []
        self.result.keep(Change(action, plan.flow.name, plan.row["name"], fields))

    def apply_schedules(self, plans: list[SchedulePlan]) -> None:
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

    def apply_deprecated_limits(self, plans: list[Plan]) -> None:
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
                self.result.concurrency_limits.count("unchanged")
                continue
            own, made = ConcurrencyLimit.objects.update_or_create(
                name=ConcurrencyLimit.name_for_deployment(deployment_id),
                defaults={"limit": spec.deprecated_limit, "owner_id": deployment_id},
            )
            Deployment.objects.filter(id=deployment_id).update(global_concurrency_limit=own)
            self.result.concurrency_limits.count("create" if made else "update")


# New rows --------------------------------------------------------------------------------

DEPLOYMENT_FIELDS = {f.attname: f for f in Deployment._meta.concrete_fields}
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
