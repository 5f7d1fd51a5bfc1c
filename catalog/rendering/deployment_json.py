"""A deployment's API JSON (Prefect's `DeploymentResponse`), rendered from plain column
values in bulk.

Reads, the history and the importer render thousands of deployments at a time; DRF's
field machinery costs about a millisecond a deployment, so the JSON is written out here
from `.values()` rows: one query for the deployments, one for their schedules, one each
for the queues and limits they name. Keys are in the order Prefect's server emits them.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from catalog.models import ConcurrencyLimit, Deployment, DeploymentSchedule, WorkQueue
from catalog.rendering.serializers import DeploymentConcurrencyLimitSerializer
from catalog.rules.datetimes import format_utc
from catalog.rules.schedules import schedule_from_columns, schedule_to_json

DEPLOYMENT_COLUMNS = [field.attname for field in Deployment._meta.concrete_fields]
SCHEDULE_COLUMNS = [field.attname for field in DeploymentSchedule._meta.concrete_fields]
LIMIT_COLUMNS = DeploymentConcurrencyLimitSerializer.Meta.fields
BATCH = 2000


def rendered_deployments(ids: Iterable[UUID], using: str) -> dict[UUID, dict]:
    """The JSON of each deployment of `ids` that exists, by id."""
    ids = list(ids)
    rendered: dict[UUID, dict] = {}
    for start in range(0, len(ids), BATCH):
        rendered.update(rendered_batch(ids[start : start + BATCH], using))
    return rendered


def rendered_batch(ids: list[UUID], using: str) -> dict[UUID, dict]:
    rows = list(Deployment.objects.using(using).filter(id__in=ids).values(*DEPLOYMENT_COLUMNS))
    schedules = schedules_by_deployment(ids, using)
    queues = queue_names(
        {row["work_queue_id"] for row in rows if row["work_queue_id"] is not None}, using
    )
    limits = limits_by_id({row["global_concurrency_limit_id"] for row in rows} - {None}, using)
    return {
        row["id"]: deployment_to_json(
            row,
            schedules.get(row["id"], ()),
            queues.get(row["work_queue_id"]),
            limits.get(row["global_concurrency_limit_id"]),
        )
        for row in rows
    }


def schedules_by_deployment(ids: list[UUID], using: str) -> dict[UUID, list[dict]]:
    """Each deployment's schedules, the most recently updated first, as Prefect lists them."""
    by_deployment: dict[UUID, list[dict]] = defaultdict(list)
    rows = (
        DeploymentSchedule.objects.using(using)
        .filter(deployment_id__in=ids)
        .order_by("-updated")
        .values(*SCHEDULE_COLUMNS)
    )
    for row in rows:
        by_deployment[row["deployment_id"]].append(row)
    return by_deployment


def queue_names(ids: set[UUID], using: str) -> dict[UUID, tuple[str, str]]:
    """(queue name, pool name) of each queue."""
    if not ids:
        return {}
    rows = WorkQueue.objects.using(using).filter(id__in=ids)
    return {
        id: (name, pool) for id, name, pool in rows.values_list("id", "name", "work_pool__name")
    }


def limits_by_id(ids: set[UUID], using: str) -> dict[UUID, dict]:
    if not ids:
        return {}
    rows = ConcurrencyLimit.objects.using(using).filter(id__in=ids).values(*LIMIT_COLUMNS)
    return {row["id"]: row for row in rows}


def text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def deployment_to_json(
    row: Mapping[str, Any],
    schedules: Iterable[Mapping[str, Any]],
    queue: tuple[str, str] | None,
    limit: Mapping[str, Any] | None,
) -> dict:
    """Prefect's `DeploymentResponse` from a deployment's columns, its schedules' columns,
    its queue's and pool's names and its global concurrency limit's columns."""
    queue_name, pool_name = queue if queue else (None, None)
    return {
        "id": str(row["id"]),
        "created": format_utc(row["created"]),
        "updated": format_utc(row["updated"]),
        "name": row["name"],
        "version": row["version"],
        "description": row["description"],
        "flow_id": str(row["flow_id"]),
        "paused": row["paused"],
        "schedules": [schedule_json(schedule) for schedule in schedules],
        # Deprecated by Prefect and always null; the limit is `global_concurrency_limit`.
        "concurrency_limit": None,
        "global_concurrency_limit": None if limit is None else limit_json(limit),
        "concurrency_options": concurrency_options(row),
        "job_variables": row["job_variables"],
        "parameters": row["parameters"],
        "tags": row["tags"],
        "labels": row["labels"],
        "work_queue_name": queue_name,
        "work_queue_id": text_or_none(row["work_queue_id"]),
        "last_polled": format_utc(row["last_polled"]),
        "parameter_openapi_schema": row["parameter_openapi_schema"],
        "path": row["path"],
        "pull_steps": row["pull_steps"],
        "entrypoint": row["entrypoint"],
        "storage_document_id": text_or_none(row["storage_document_id"]),
        "infrastructure_document_id": text_or_none(row["infrastructure_document_id"]),
        "created_by": actor_json(row["created_by"]),
        "updated_by": actor_json(row["updated_by"]),
        "work_pool_name": pool_name,
        "status": row["status"],
        "enforce_parameter_schema": row["enforce_parameter_schema"],
    }


def schedule_json(row: Mapping[str, Any]) -> dict:
    """Prefect's `DeploymentSchedule` from a schedule row's columns."""
    return {
        "id": str(row["id"]),
        "created": format_utc(row["created"]),
        "updated": format_utc(row["updated"]),
        "deployment_id": str(row["deployment_id"]),
        "schedule": schedule_to_json(schedule_from_columns(row)),
        "active": row["active"],
        "max_scheduled_runs": row["max_scheduled_runs"],
        "parameters": row["parameters"],
        "slug": row["slug"],
    }


def limit_json(row: Mapping[str, Any]) -> dict:
    """The global concurrency limit as a deployment embeds it: no slot statistics."""
    return {
        "id": str(row["id"]),
        "created": format_utc(row["created"]),
        "updated": format_utc(row["updated"]),
        "active": row["active"],
        "name": row["name"],
        "limit": row["limit"],
        "active_slots": row["active_slots"],
        "slot_decay_per_second": row["slot_decay_per_second"],
    }


def concurrency_options(row: Mapping[str, Any]) -> dict | None:
    if row["concurrency_collision_strategy"] is None:
        return None
    return {
        "collision_strategy": row["concurrency_collision_strategy"],
        "grace_period_seconds": row["concurrency_grace_period_seconds"],
    }


def actor_json(actor: Mapping | None) -> dict | None:
    """`created_by` / `updated_by` with Prefect's key order, whatever order jsonb kept."""
    if actor is None:
        return None
    return {
        "id": actor.get("id"),
        "type": actor.get("type"),
        "display_value": actor.get("display_value"),
    }


def schedule_instance_json(schedule: DeploymentSchedule) -> dict:
    """A schedule model instance's JSON (the schedule routes answer with these)."""
    return schedule_json({name: getattr(schedule, name) for name in SCHEDULE_COLUMNS})


def deployment_instance_json(deployment: Deployment) -> dict:
    """A deployment model instance's JSON, its schedules, queue and limit read as needed."""
    row = {name: getattr(deployment, name) for name in DEPLOYMENT_COLUMNS}
    queue = None
    if deployment.work_queue_id is not None:
        queue = (deployment.work_queue.name, deployment.work_queue.work_pool.name)
    limit = deployment.global_concurrency_limit
    limit_row = None if limit is None else {name: getattr(limit, name) for name in LIMIT_COLUMNS}
    schedules = sorted(deployment.schedules.all(), key=lambda s: s.updated, reverse=True)
    return deployment_to_json(
        row,
        [{name: getattr(s, name) for name in SCHEDULE_COLUMNS} for s in schedules],
        queue,
        limit_row,
    )
