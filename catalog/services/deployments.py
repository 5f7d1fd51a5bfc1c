"""Deployments: Prefect's upsert and partial update, deletes, pause and resume, and the
admin's saves and bulk actions. Every write checks `deployment_rules` before it saves.

Each function takes the fields a write gives as a mapping keyed by Prefect's JSON names
(`given`: only the keys sent), so that "absent" and "null" stay apart as Prefect's rules
need; schedules in it are mappings too, their `schedule` a parsed `Schedule` or Prefect's
schedule JSON.
"""

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import (
    DEFAULT_AGENT_POOL,
    FLOW_ID_LABEL,
    Deployment,
    DeploymentStatus,
    Flow,
    labels_with_flow_id,
)
from catalog.rules.problems import Problem
from catalog.services import schedules as schedule_writes
from catalog.services.checks import columns_of, refuse, saved
from catalog.services.context import WriteContext
from catalog.services.deployment_rules import (
    COLUMN_RULES,
    NO_PARAMETER_SCHEMA,
    deployment_problems,
    parameter_problems,
)
from catalog.services.errors import Conflict, Invalid, NotFound
from catalog.services.limits import concurrency_limit_named, set_own_concurrency_limit
from catalog.services.work_pools import check_job_variables, work_pool_named, work_queue_for

DEPLOYMENT_NOT_FOUND = "Deployment not found"
# Fields of a create or update stored as they are given.
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
# The columns the rules read: each one with a rule of its own, and the enforcement flag.
CHECKED_COLUMNS = (*COLUMN_RULES, "enforce_parameter_schema")


def not_found() -> NotFound:
    return NotFound("deployment", DEPLOYMENT_NOT_FOUND)


def check_columns(deployment: Deployment, changed: set[str], **options) -> None:
    columns = columns_of(deployment, CHECKED_COLUMNS)
    refuse(deployment_problems(columns, changed=changed, **options))


# Prefect's writes (the API) ----------------------------------------------------------------


def deployment_upsert(
    *, given: Mapping[str, Any], context: WriteContext
) -> tuple[Deployment, bool]:
    """`POST /deployments/`: create, or update the deployment of the same flow and name.

    On update only the fields given are written, except that `parameters` is always
    written, labels are recomputed and the schedules are replaced, as Prefect does.
    Parameters were checked against the schema as Prefect checks a create: by the
    request's own model, when it asks for enforcement.
    """
    refuse(deployment_problems({"name": given["name"]}))
    pool_name = given.get("work_pool_name")
    if pool_name and pool_name != DEFAULT_AGENT_POOL:
        check_job_variables(work_pool_named(pool_name), given.get("job_variables"))
    linked = None
    if given.get("global_concurrency_limit_id") is not None:
        linked = concurrency_limit_named(given["global_concurrency_limit_id"])
    flow = Flow.objects.filter(id=given["flow_id"]).first()
    if flow is None:
        raise Conflict()
    take_name_lock(f"deployment:{flow.id}:{given['name']}")
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .filter(flow=flow, name=given["name"])
        .first()
    )
    created = deployment is None
    if created:
        deployment = Deployment(flow=flow, name=given["name"])
    changed = apply_given(deployment, given, created=created)
    if {"work_pool_name", "work_queue_name"} & given.keys():
        deployment.work_queue = work_queue_for(pool_name, given.get("work_queue_name"))
    if "global_concurrency_limit_id" in given:
        deployment.global_concurrency_limit = linked
    deployment.labels = labels_with_flow_id(flow, given.get("labels"))
    check_columns(deployment, changed | {"labels"}, check_parameters=False)
    saved(deployment)
    schedule_writes.schedules_replace(deployment, given.get("schedules") or [])
    if "concurrency_limit" in given:
        set_own_concurrency_limit(deployment, given["concurrency_limit"])
        deployment.save(update_fields=["global_concurrency_limit"])
    return deployment, created


def apply_given(deployment: Deployment, given: Mapping[str, Any], *, created: bool) -> set[str]:
    """The plain fields and concurrency options given; the columns they set."""
    changed = {field for field in PLAIN_FIELDS if field in given}
    for field in changed:
        setattr(deployment, field, given[field])
    if "job_variables" in given and given["job_variables"] is not None:
        deployment.job_variables = given["job_variables"]
        changed.add("job_variables")
    if "concurrency_options" in given:
        set_concurrency_options(deployment, given["concurrency_options"])
        changed |= {"concurrency_collision_strategy", "concurrency_grace_period_seconds"}
    return changed | ({"name"} if created else set())


def set_concurrency_options(deployment: Deployment, options: Mapping[str, Any] | None) -> None:
    options = options or {}
    deployment.concurrency_collision_strategy = options.get("collision_strategy")
    deployment.concurrency_grace_period_seconds = options.get("grace_period_seconds")


def take_name_lock(name: str) -> None:
    """Upserts of one name take turns on PostgreSQL until their transaction ends: a row
    lock cannot guard a row that does not exist yet, and two writers that both found
    none would both insert it (SQLite runs one writer at a time anyway)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])


def deployment_for_update(deployment_id: UUID) -> Deployment:
    deployment = (
        Deployment.objects.select_for_update(of=("self",))
        .select_related("flow", "global_concurrency_limit")
        .filter(id=deployment_id)
        .first()
    )
    if deployment is None:
        raise not_found()
    return deployment


def deployment_update(
    *, deployment_id: UUID, given: Mapping[str, Any], context: WriteContext
) -> None:
    """`PATCH /deployments/{id}`: only the fields given change, with Prefect's rules."""
    deployment = deployment_for_update(deployment_id)
    by_slug = None
    if "schedules" in given:
        by_slug = schedule_writes.plan_schedule_changes(deployment, given["schedules"])
    if given.get("work_pool_name"):
        check_job_variables(work_pool_named(given["work_pool_name"]), given.get("job_variables"))
    check_parameters_on_update(deployment, given)
    linked = None
    if given.get("global_concurrency_limit_id"):
        linked = concurrency_limit_named(given["global_concurrency_limit_id"])
    given = {**given}
    if given.get("parameters", {}) is None:
        del given["parameters"]
    changed = apply_given(deployment, given, created=False)
    apply_work_queue_change(deployment, given)
    if "global_concurrency_limit_id" in given:
        deployment.global_concurrency_limit = linked
    if "concurrency_limit" in given:
        set_own_concurrency_limit(deployment, given["concurrency_limit"])
    check_columns(deployment, changed, check_parameters=False)
    saved(deployment)
    if by_slug is None and "schedules" in given:
        schedule_writes.schedules_replace(deployment, given["schedules"])
    elif by_slug is not None:
        schedule_writes.apply_slugged_changes(deployment, *by_slug)


def apply_work_queue_change(deployment: Deployment, given: Mapping[str, Any]) -> None:
    if given.get("work_pool_name"):
        deployment.work_queue = work_queue_for(
            given["work_pool_name"], given.get("work_queue_name")
        )
    elif "work_pool_name" in given:
        deployment.work_queue = None
    elif given.get("work_queue_name"):
        deployment.work_queue = work_queue_for(None, given["work_queue_name"])


def check_parameters_on_update(deployment: Deployment, given: Mapping[str, Any]) -> None:
    """Prefect's check on update: whenever enforcement is (or stays) on, the parameters
    (given, or kept) must fit the schema (given, or kept), which must exist."""
    enforce = given.get("enforce_parameter_schema")
    if enforce is None:
        enforce = deployment.enforce_parameter_schema
    if not enforce:
        return
    values = given.get("parameters")
    values = deployment.parameters if values is None else values
    schema = given.get("parameter_openapi_schema") or deployment.parameter_openapi_schema
    if not isinstance(schema, dict):
        raise Invalid.at(("parameter_openapi_schema",), NO_PARAMETER_SCHEMA, "no_parameter_schema")
    refuse(parameter_problems(values, schema, True))


def deployment_delete(*, deployment_id: UUID, context: WriteContext) -> None:
    deleted, _ = Deployment.objects.filter(id=deployment_id).delete()
    if not deleted:
        raise not_found()


def deployments_delete(*, deployments: QuerySet, context: WriteContext) -> list[UUID]:
    ids = list(deployments.values_list("id", flat=True))
    Deployment.objects.filter(id__in=ids).delete()
    return ids


def deployment_set_paused(*, deployment_id: UUID, paused: bool, context: WriteContext) -> None:
    """Prefect's pause and resume: `updated` moves even when the flag stays."""
    changed = Deployment.objects.filter(id=deployment_id).update(
        paused=paused, updated=timezone.now()
    )
    if not changed:
        raise not_found()


def deployments_polled(*, deployment_ids: list[UUID], context: WriteContext) -> None:
    """A worker polled for these deployments' runs: they are `READY`, with the poll's time.
    Runtime state, not configuration: `updated` stays, as in Prefect."""
    Deployment.objects.filter(id__in=deployment_ids).update(
        status=DeploymentStatus.READY, last_polled=timezone.now()
    )


# The admin's writes --------------------------------------------------------------------


def deployment_form_problems(deployment: Deployment) -> list[Problem]:
    """Every rule of a deployment as a form left it, its pool's variables schema included."""
    columns = columns_of(deployment, CHECKED_COLUMNS)
    pool = deployment.work_queue.work_pool if deployment.work_queue_id else None
    return deployment_problems(columns, pool=pool)


def deployment_save(*, deployment: Deployment, created: bool, context: WriteContext) -> None:
    """A deployment as a form left it: its labels get Prefect's `prefect.flow.id`, its
    actor fields the writer, and it is saved only if every rule holds."""
    actor = context.stamped_actor()
    if actor is not None:
        deployment.updated_by = actor
        if created:
            deployment.created_by = actor
    if FLOW_ID_LABEL not in (deployment.labels or {}):
        deployment.labels = deployment.labels_with_flow_id()
    refuse(deployment_form_problems(deployment))
    saved(deployment)


def deployments_update(
    *, deployments: QuerySet, values: Mapping[str, Any], context: WriteContext
) -> int:
    """Set `values` on every deployment that does not have them already; how many changed
    (the change history records a version of each)."""
    rows = (
        list(deployments.order_by().exclude(**values).values_list("pk", flat=True))
        if values
        else []
    )
    Deployment.objects.filter(pk__in=rows).update(**values, **stamp(context))
    return len(rows)


def deployments_set_schedules_active(
    *, deployments: QuerySet, active: bool, context: WriteContext
) -> int:
    """Every schedule of the deployments on or off; how many deployments changed."""
    rows = list(deployments.order_by().filter(schedules__active=not active).distinct())
    schedule_writes.schedules_set_active(deployments=rows, active=active, context=context)
    Deployment.objects.filter(pk__in=[row.pk for row in rows]).update(**stamp(context))
    return len(rows)


def stamp(context: WriteContext) -> dict[str, Any]:
    """What a bulk write sets besides its values: `updated`, and the writer where shown."""
    actor = context.stamped_actor()
    return {"updated": timezone.now(), **({"updated_by": actor} if actor else {})}
