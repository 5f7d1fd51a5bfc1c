"""What the API's writes do, with Prefect's rules: upserts, partial updates, the slug
rules for schedules, concurrency limits and work-queue resolution.

Functions take validated request models (`catalog.api.request_models`) and raise `ApiError`s that
carry Prefect's status and `detail`; views only translate HTTP to these calls.
"""

from datetime import timedelta
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from catalog.api import request_models as actions
from catalog.api.errors import INTEGRITY_CONFLICT, ApiError
from catalog.models import (
    DEFAULT_AGENT_POOL,
    DEFAULT_QUEUE,
    FLOW_ID_LABEL,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import parameters as parameter_schemas

DEPLOYMENT_NOT_FOUND = "Deployment not found"
# Prefect's PATCH and schedule routes spell it with a full stop.
DEPLOYMENT_NOT_FOUND_PERIOD = "Deployment not found."
SCHEDULE_NOT_FOUND = "Schedule not found."
VARIABLE_NOT_FOUND = "Variable not found."

# Fields of `DeploymentCreate`/`DeploymentUpdate` stored as they are.
PLAIN_FIELDS = (
    "version",
    "description",
    "paused",
    "parameters",
    "parameter_openapi_schema",
    "tags",
    "pull_steps",
    "path",
    "entrypoint",
    "storage_document_id",
    "infrastructure_document_id",
    "enforce_parameter_schema",
)


def integrity_conflict() -> ApiError:
    return ApiError(409, INTEGRITY_CONFLICT)


# Flows ---------------------------------------------------------------------------------


def flow_create(data: actions.FlowCreate) -> tuple[Flow, bool]:
    """The flow of that name, made if missing; an existing flow is returned unchanged."""
    existing = Flow.objects.filter(name=data.name).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Flow.objects.create(name=data.name, tags=data.tags, labels=data.labels), True
    except IntegrityError:
        return Flow.objects.get(name=data.name), False


def flow_update(flow: Flow, data: actions.FlowUpdate) -> None:
    if "tags" in data.model_fields_set:
        flow.tags = data.tags
    flow.save()


# Work pools and queues -----------------------------------------------------------------


def work_pool_ensure(name: str) -> WorkPool:
    # Prefect makes the default agent pool with no status of its own.
    defaults = {"status": None} if name == DEFAULT_AGENT_POOL else {}
    pool, created = WorkPool.objects.get_or_create(name=name, defaults=defaults)
    if created or pool.default_queue_id is None:
        pool.default_queue, _ = WorkQueue.objects.get_or_create(
            work_pool=pool,
            name=DEFAULT_QUEUE,
            defaults={"description": "The work pool's default queue."},
        )
        pool.save(update_fields=["default_queue"])
    return pool


def work_pool_named(name: str) -> WorkPool:
    """An existing pool (the default agent pool is made on demand), else 404."""
    if name == DEFAULT_AGENT_POOL:
        return work_pool_ensure(name)
    pool = WorkPool.objects.filter(name=name).first()
    if pool is None:
        raise ApiError(404, f'Work pool "{name}" not found.')
    return pool


def work_queue_for(pool_name: str | None, queue_name: str | None) -> WorkQueue | None:
    """Prefect's resolution: a pool and queue name find or make the queue in that pool;
    a pool alone gives its default queue; a queue alone lives in `default-agent-pool`."""
    if pool_name:
        pool = work_pool_named(pool_name)
        if queue_name:
            return work_queue_ensure(pool, queue_name)
        return pool.default_queue or work_pool_ensure(pool.name).default_queue
    if queue_name:
        return work_queue_ensure(work_pool_ensure(DEFAULT_AGENT_POOL), queue_name)
    return None


def work_queue_ensure(pool: WorkPool, name: str) -> WorkQueue:
    """The pool's queue of that name. A new queue takes the first free priority, as in
    Prefect: a gap in 1, 2, 3… if there is one, else one past the last."""
    queue = pool.queues.filter(name=name).first()
    if queue is None:
        taken = sorted(pool.queues.values_list("priority", flat=True))
        free = next((n for n, used in enumerate(taken, start=1) if n != used), len(taken) + 1)
        queue = WorkQueue.objects.create(work_pool=pool, name=name, priority=free)
    return queue


def check_job_variables(pool_name: str | None, job_variables: dict | None, verb: str) -> None:
    """Job variables must fit the pool's template (required keys aside), as in Prefect."""
    if not pool_name or not job_variables:
        return
    pool = WorkPool.objects.filter(name=pool_name).first()
    template = (pool.base_job_template if pool else None) or {}
    variables_schema = template.get("variables")
    if not variables_schema:
        return
    defaults = {
        key: spec["default"]
        for key, spec in (variables_schema.get("properties") or {}).items()
        if isinstance(spec, dict) and "default" in spec
    }
    try:
        parameter_schemas.check_parameters_preprocessed(
            {**defaults, **job_variables}, variables_schema, allow_none_with_default=True
        )
    except parameter_schemas.ParameterSchemaError as exc:
        raise ApiError(422, f"Error {verb} deployment: {exc}") from None


# Concurrency ---------------------------------------------------------------------------


def concurrency_limit_named(limit_id: UUID) -> ConcurrencyLimit:
    limit = ConcurrencyLimit.objects.filter(id=limit_id).first()
    if limit is None:
        raise ApiError(404, "Concurrency limit not found")
    return limit


def set_own_concurrency_limit(deployment: Deployment, limit: int | None) -> None:
    """`concurrency_limit: N` makes or updates the deployment's own `deployment:<id>`
    limit and links it; `null` deletes that own limit. Shared limits are never changed."""
    own = ConcurrencyLimit.objects.filter(owner=deployment).first()
    if limit is None:
        if own is not None:
            own.delete()
            deployment.global_concurrency_limit = None
        elif deployment.global_concurrency_limit_id is not None:
            deployment.global_concurrency_limit = None
        return
    if own is None:
        own, _ = ConcurrencyLimit.objects.update_or_create(
            name=ConcurrencyLimit.name_for_deployment(deployment.id),
            defaults={"limit": limit, "owner": deployment},
        )
    elif own.limit != limit:
        own.limit = limit
        own.save()
    deployment.global_concurrency_limit = own


def set_concurrency_options(deployment: Deployment, options: actions.ConcurrencyOptions | None):
    if options is None:
        deployment.concurrency_collision_strategy = None
        deployment.concurrency_grace_period_seconds = None
        return
    deployment.concurrency_collision_strategy = options.collision_strategy.value
    deployment.concurrency_grace_period_seconds = options.grace_period_seconds


# Schedules -----------------------------------------------------------------------------


def schedule_rows(
    deployment: Deployment,
    entries: list,
    *,
    keep_max_runs: bool,
) -> list[DeploymentSchedule]:
    """New schedule rows, stamped a microsecond apart in request order, so that reading
    them newest first gives the reverse of the request, as Prefect's batch inserts do."""
    start = timezone.now()
    rows = []
    for offset, entry in enumerate(entries):
        stamp = start + timedelta(microseconds=offset)
        row = DeploymentSchedule(
            deployment=deployment,
            created=stamp,
            updated=stamp,
            active=True if entry.active is None else entry.active,
            max_scheduled_runs=entry.max_scheduled_runs if keep_max_runs else None,
            parameters=entry.parameters,
            slug=entry.slug,
        )
        row.schedule = entry.schedule.to_schedule()
        rows.append(row)
    return rows


def schedules_replace(deployment: Deployment, entries: list) -> None:
    """Drop every schedule and make the given ones (those with a schedule)."""
    deployment.schedules.all().delete()
    wanted = [entry for entry in entries if entry.schedule is not None]
    DeploymentSchedule.objects.bulk_create(schedule_rows(deployment, wanted, keep_max_runs=False))


def schedules_create(
    deployment: Deployment, entries: list[actions.DeploymentScheduleCreate]
) -> list[DeploymentSchedule]:
    """`POST /deployments/{id}/schedules`: rows in request order; slugs must be new."""
    rows = schedule_rows(deployment, entries, keep_max_runs=True)
    try:
        with transaction.atomic():
            DeploymentSchedule.objects.bulk_create(rows)
    except IntegrityError:
        # Prefect names the slug rule only where the database names the constraint.
        if connection.vendor == "postgresql":
            raise ApiError(409, "Schedule slugs must be unique within a deployment.") from None
        raise integrity_conflict() from None
    return rows


def schedule_apply(row: DeploymentSchedule, update: actions.DeploymentScheduleUpdate) -> None:
    """Prefect writes every field given as non-null, and `parameters` always."""
    if update.active is not None:
        row.active = update.active
    if update.schedule is not None:
        row.schedule = update.schedule.to_schedule()
    if update.max_scheduled_runs is not None:
        row.max_scheduled_runs = update.max_scheduled_runs
    if update.slug is not None:
        row.slug = update.slug
    row.parameters = update.parameters
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        raise integrity_conflict() from None


def schedule_update(
    deployment: Deployment, schedule_id: UUID, update: actions.DeploymentScheduleUpdate
) -> None:
    row = deployment.schedules.filter(id=schedule_id).first()
    if row is None:
        raise ApiError(404, SCHEDULE_NOT_FOUND)
    schedule_apply(row, update)


def schedule_delete(deployment: Deployment, schedule_id: UUID) -> None:
    deleted, _ = deployment.schedules.filter(id=schedule_id).delete()
    if not deleted:
        raise ApiError(404, SCHEDULE_NOT_FOUND)


# Deployments ---------------------------------------------------------------------------


def check_deployment_name(name: str) -> None:
    """Prefect stores deployment names under `^[^/%&><]*$` (its own server answers 500)."""
    if any(character in actions.BANNED_CHARACTERS for character in name):
        raise ApiError(
            422,
            f"Deployment names may not contain any of {actions.BANNED_CHARACTERS!r}: {name!r}",
        )


def deployment_upsert(data: actions.DeploymentCreate) -> tuple[Deployment, bool]:
    """`POST /deployments/`: create, or update the deployment of the same flow and name.

    On update only the fields sent are written, except that `parameters` is always
    written, labels are recomputed and the schedules are replaced, as Prefect does.
    """
    check_deployment_name(data.name)
    sent = data.model_fields_set
    if data.work_pool_name and data.work_pool_name != DEFAULT_AGENT_POOL:
        work_pool_named(data.work_pool_name)
        check_job_variables(data.work_pool_name, data.job_variables, "creating")
    linked = None
    if data.global_concurrency_limit_id is not None:
        linked = concurrency_limit_named(data.global_concurrency_limit_id)
    flow = Flow.objects.filter(id=data.flow_id).first()
    if flow is None:
        raise integrity_conflict()
    take_name_lock(f"deployment:{flow.id}:{data.name}")
    deployment = (
        Deployment.objects.select_for_update(of=("self",)).filter(flow=flow, name=data.name).first()
    )
    created = deployment is None
    if created:
        deployment = Deployment(flow=flow, name=data.name)
    for field in PLAIN_FIELDS:
        if created or field in sent:
            setattr(deployment, field, getattr(data, field))
    if created and "parameter_openapi_schema" not in sent:
        deployment.parameter_openapi_schema = {}
    if created and "pull_steps" not in sent:
        deployment.pull_steps = []
    if created or "job_variables" in sent:
        deployment.job_variables = data.job_variables
    if created or "concurrency_options" in sent:
        set_concurrency_options(deployment, data.concurrency_options)
    if {"work_pool_name", "work_queue_name"} & sent:
        deployment.work_queue = work_queue_for(data.work_pool_name, data.work_queue_name)
    if "global_concurrency_limit_id" in sent:
        deployment.global_concurrency_limit = linked
    deployment.labels = {
        **(flow.labels or {}),
        FLOW_ID_LABEL: str(flow.id),
        **(data.labels or {}),
    }
    save_deployment(deployment)
    schedules_replace(deployment, data.schedules)
    if "concurrency_limit" in sent:
        set_own_concurrency_limit(deployment, data.concurrency_limit)
        deployment.save(update_fields=["global_concurrency_limit"])
    return deployment, created


def take_name_lock(name: str) -> None:
    """Upserts of one name take turns on PostgreSQL until their transaction ends: a row
    lock cannot guard a row that does not exist yet, and two writers that both found
    none would both insert it (SQLite runs one writer at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def save_deployment(deployment: Deployment) -> None:
    try:
        with transaction.atomic():
            deployment.save()
    except IntegrityError:
        raise integrity_conflict() from None


def deployment_for_update(deployment_id: UUID, message: str) -> Deployment:
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("flow", "global_concurrency_limit")
        .filter(id=deployment_id)
        .first()
    )
    if deployment is None:
        raise ApiError(404, message)
    return deployment


def deployment_update(deployment_id: UUID, data: actions.DeploymentUpdate) -> None:
    """`PATCH /deployments/{id}`: only the fields sent change, with Prefect's rules."""
    deployment = deployment_for_update(deployment_id, DEPLOYMENT_NOT_FOUND_PERIOD)
    sent = data.model_fields_set
    by_slug = plan_schedule_changes(deployment, data) if "schedules" in sent else None
    if data.work_pool_name:
        work_pool_named(data.work_pool_name)
        check_job_variables(data.work_pool_name, data.job_variables, "updating")
    check_parameters_on_update(deployment, data)
    linked = None
    if data.global_concurrency_limit_id:
        linked = concurrency_limit_named(data.global_concurrency_limit_id)

    for field in PLAIN_FIELDS:
        if field in sent and not (field == "parameters" and data.parameters is None):
            setattr(deployment, field, getattr(data, field))
    if "job_variables" in sent and data.job_variables is not None:
        deployment.job_variables = data.job_variables
    if "concurrency_options" in sent:
        set_concurrency_options(deployment, data.concurrency_options)
    apply_work_queue_change(deployment, data)
    if "global_concurrency_limit_id" in sent:
        deployment.global_concurrency_limit = linked
    if "concurrency_limit" in sent:
        set_own_concurrency_limit(deployment, data.concurrency_limit)
    save_deployment(deployment)
    if by_slug is None and "schedules" in sent:
        schedules_replace(deployment, data.schedules)
    elif by_slug is not None:
        apply_slugged_changes(deployment, *by_slug)


def apply_work_queue_change(deployment: Deployment, data: actions.DeploymentUpdate) -> None:
    sent = data.model_fields_set
    if data.work_pool_name:
        deployment.work_queue = work_queue_for(data.work_pool_name, data.work_queue_name)
    elif "work_pool_name" in sent:
        deployment.work_queue = None
    elif data.work_queue_name:
        deployment.work_queue = work_queue_for(None, data.work_queue_name)


def check_parameters_on_update(deployment: Deployment, data: actions.DeploymentUpdate) -> None:
    enforce = (
        data.enforce_parameter_schema
        if data.enforce_parameter_schema is not None
        else deployment.enforce_parameter_schema
    )
    if not enforce:
        return
    parameters = data.parameters if data.parameters is not None else deployment.parameters
    schema = data.parameter_openapi_schema or deployment.parameter_openapi_schema
    if not isinstance(schema, dict):
        raise ApiError(
            409,
            "Error updating deployment: Cannot update parameters because parameter schema "
            "enforcement is enabled and the deployment does not have a valid parameter schema.",
        )
    try:
        parameter_schemas.check_parameters_preprocessed(parameters, schema)
    except parameter_schemas.CircularSchemaError as exc:
        raise ApiError(422, str(exc)) from None
    except parameter_schemas.ParameterSchemaError as exc:
        raise ApiError(409, f"Error updating deployment: {exc}") from None


def plan_schedule_changes(deployment: Deployment, data: actions.DeploymentUpdate):
    """Prefect's slug rules for `schedules` in a PATCH.

    When every stored schedule has a slug: refuse entries without one; otherwise update
    the schedules named by slug (or by `replaces`) and add the rest. Returns None when the
    whole list should instead replace the stored schedules.
    """
    existing = list(deployment.schedules.all())
    entries = data.schedules
    all_existing_slugged = bool(existing) and all(row.slug is not None for row in existing)
    all_given_slugged = all(entry.slug is not None for entry in entries)
    if not all_existing_slugged:
        return None
    if not all_given_slugged:
        raise ApiError(
            422,
            "Please provide a slug for each schedule in your request to ensure schedules are "
            "updated correctly.",
        )
    current = {row.slug: row for row in existing}
    renames = check_renames(entries, current)
    to_update, to_create = [], []
    for entry in entries:
        target = entry.replaces or entry.slug
        if target in current:
            to_update.append((current[target], entry))
        elif entry.schedule is not None:
            to_create.append(entry)
        else:
            raise ApiError(
                422, "Unable to create new deployment schedules without a schedule configuration."
            )
    return to_update, to_create, renames


def check_renames(entries: list, current: dict) -> set[str]:
    renamed: dict[str, str] = {}
    for entry in entries:
        if entry.replaces:
            if entry.replaces in renamed:
                raise ApiError(
                    422,
                    f"Multiple schedules have 'replaces' targeting the same slug: {entry.replaces}",
                )
            renamed[entry.replaces] = entry.slug or ""
    for entry in entries:
        if entry.replaces and entry.slug in current and entry.slug not in renamed:
            raise ApiError(
                422,
                f"Cannot rename schedule from '{entry.replaces}' to '{entry.slug}': "
                f"a schedule with slug '{entry.slug}' already exists.",
            )
    return set(renamed)


def apply_slugged_changes(deployment: Deployment, to_update, to_create, renames) -> None:
    # Renamed rows first lose their old slug, so that the new one never collides with it.
    renamed_rows = [row for row, entry in to_update if entry.replaces]
    DeploymentSchedule.objects.filter(id__in=[row.id for row in renamed_rows]).update(slug=None)
    for row, _ in to_update:
        if row in renamed_rows:
            row.slug = None
    for row, entry in to_update:
        schedule_apply(row, entry)
    rows = schedule_rows(deployment, to_create, keep_max_runs=False)
    try:
        with transaction.atomic():
            DeploymentSchedule.objects.bulk_create(rows)
    except IntegrityError:
        raise integrity_conflict() from None


def deployment_delete(deployment_id: UUID) -> None:
    deleted, _ = Deployment.objects.filter(id=deployment_id).delete()
    if not deleted:
        raise ApiError(404, DEPLOYMENT_NOT_FOUND)


def deployments_delete(deployments) -> list[UUID]:
    ids = list(deployments.values_list("id", flat=True))
    Deployment.objects.filter(id__in=ids).delete()
    return ids


def deployment_set_paused(deployment_id: UUID, paused: bool) -> None:
    changed = Deployment.objects.filter(id=deployment_id).update(
        paused=paused, updated=timezone.now()
    )
    if not changed:
        raise ApiError(404, DEPLOYMENT_NOT_FOUND)


# Concurrency limits (`/v2/concurrency_limits/`) ----------------------------------------


def concurrency_limit_create(data: actions.ConcurrencyLimitV2Create) -> ConcurrencyLimit:
    try:
        with transaction.atomic():
            return ConcurrencyLimit.objects.create(**data.model_dump())
    except IntegrityError:
        raise integrity_conflict() from None


def concurrency_limit_update(limit: ConcurrencyLimit, data: actions.ConcurrencyLimitV2Update):
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(limit, field, value)
    try:
        with transaction.atomic():
            limit.save()
    except IntegrityError:
        raise integrity_conflict() from None


# Variables -----------------------------------------------------------------------------


def variable_create(data: actions.VariableCreate) -> Variable:
    try:
        with transaction.atomic():
            return Variable.objects.create(**data.model_dump())
    except IntegrityError:
        raise ApiError(409, f"A variable with the name {data.name!r} already exists.") from None


def variable_update(variable: Variable, data: actions.VariableUpdate) -> None:
    """Sets only the keys sent, and moves `updated` even when none is."""
    changes = data.model_dump(exclude_unset=True)
    # Prefect writes a null name or tags into NOT NULL columns and answers the conflict.
    if None in (changes.get("name", ""), changes.get("tags", [])):
        raise integrity_conflict()
    for field, value in changes.items():
        setattr(variable, field, value)
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError:
        raise integrity_conflict() from None
