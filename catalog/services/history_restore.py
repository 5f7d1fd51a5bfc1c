"""Restoring a deployment to one of its versions: a new, forward version that says which
one it restores (the history is never rewritten).

The configuration comes back: every field the API shows but runtime state (`status`,
`last_polled`), the schedules with their old ids and slugs, the deployment's own
concurrency limit. `created` is kept; a deleted deployment comes back with its old id.
What the version points at must still be there: its flow (by id, else by name), its work
queue (by id, else by pool and queue name), a shared concurrency limit (by id, else by
name). A restore that would clash is refused with what clashes, and writes nothing.
"""

import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from catalog.models import (
    ChangeKind,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    ObjectType,
    Version,
    WorkQueue,
)
from catalog.rules.datetimes import parse_datetime
from catalog.rules.history_diff import own_limit_name
from catalog.services.checks import refuse, saved
from catalog.services.context import WriteContext
from catalog.services.deployments import deployment_form_problems
from catalog.services.errors import Conflict, NotFound
from catalog.services.history import change_set, latest_versions, note_restore, record_pending
from catalog.services.limits import set_own_concurrency_limit
from catalog.services.schedules import bulk_created, schedule_from

VERSION_NOT_FOUND = "Version not found."
# Fields of the API's JSON stored as they are in a deployment's columns.
RESTORED_FIELDS = (
    "name",
    "version",
    "description",
    "paused",
    "job_variables",
    "parameters",
    "tags",
    "labels",
    "parameter_openapi_schema",
    "path",
    "pull_steps",
    "entrypoint",
    "storage_document_id",
    "infrastructure_document_id",
    "enforce_parameter_schema",
)


class RestoreRefused(Conflict):
    """The version cannot come back as it was; the message says what is in the way."""


def deployment_restore(*, deployment_id: UUID, number: int, context: WriteContext) -> Version:
    """Restore the deployment to its version `number`; the new version recorded."""
    with change_set(context) as recorder:
        body = restorable_body(deployment_id, number)
        deployment = Deployment.objects.select_for_update().filter(id=deployment_id).first()
        targets = restore_targets(deployment_id, body)
        if deployment is None:
            deployment = Deployment(id=deployment_id, created=parse_datetime(body["created"]))
        apply_body(deployment, body, targets, context)
        restore_schedules(deployment, body.get("schedules") or [])
        note_restore(deployment_id, number)
        # Now, not when the change set ends: a door's change set (an API request's) ends
        # after the restore has answered with its version.
        record_pending(recorder)
    latest = latest_versions(ObjectType.DEPLOYMENT, [deployment_id], recorder.using)
    return latest.get(deployment_id)


def restorable_body(deployment_id: UUID, number: int) -> dict:
    version = Version.objects.filter(
        object_type=ObjectType.DEPLOYMENT, object_id=deployment_id, number=number
    ).first()
    if version is None:
        raise NotFound("version", VERSION_NOT_FOUND)
    if version.after is None:
        what = "the deletion" if version.kind == ChangeKind.DELETED else "a purge of its history"
        raise RestoreRefused(
            f"Version {number} records {what}: it holds no configuration to restore. "
            f"Restore an earlier version."
        )
    return json.loads(version.after)


def restore_targets(deployment_id: UUID, body: Mapping[str, Any]) -> dict[str, Any]:
    """The flow, work queue and shared limit the version points at, found again."""
    flow = flow_of(body)
    taken = (
        Deployment.objects.filter(flow=flow, name=body["name"]).exclude(id=deployment_id).first()
    )
    if taken is not None:
        raise RestoreRefused(
            f'The name "{flow.name}/{body["name"]}" is taken by another deployment '
            f"({taken.id}) now: rename or delete it first."
        )
    return {"flow": flow, "work_queue": queue_of(body), "limit": shared_limit_of(body)}


def flow_of(body: Mapping[str, Any]) -> Flow:
    flow = Flow.objects.filter(id=body["flow_id"]).first()
    if flow is not None:
        return flow
    named = Version.objects.filter(object_type=ObjectType.FLOW, object_id=body["flow_id"])
    name = named.order_by("-number").values_list("name", flat=True).first()
    flow = Flow.objects.filter(name=name).first() if name else None
    if flow is None:
        raise RestoreRefused(
            f"The deployment's flow ({name or body['flow_id']}) is gone: "
            "restore or create it first."
        )
    return flow


def queue_of(body: Mapping[str, Any]) -> WorkQueue | None:
    if body.get("work_queue_id") is None and body.get("work_pool_name") is None:
        return None
    queue = WorkQueue.objects.filter(id=body.get("work_queue_id")).first()
    if queue is None and body.get("work_pool_name"):
        queue = WorkQueue.objects.filter(
            work_pool__name=body["work_pool_name"], name=body.get("work_queue_name")
        ).first()
    if queue is None:
        raise RestoreRefused(
            f'The work pool "{body.get("work_pool_name")}" (queue '
            f'"{body.get("work_queue_name")}") is gone: make it again first.'
        )
    return queue


def shared_limit_of(body: Mapping[str, Any]) -> ConcurrencyLimit | None:
    limit = body.get("global_concurrency_limit")
    if limit is None or limit.get("name") == own_limit_name(body["id"]):
        return None
    found = ConcurrencyLimit.objects.filter(id=limit["id"]).first()
    found = found or ConcurrencyLimit.objects.filter(name=limit["name"]).first()
    if found is None:
        raise RestoreRefused(
            f'The global concurrency limit "{limit["name"]}" is gone: make it again first.'
        )
    return found


def apply_body(
    deployment: Deployment, body: Mapping[str, Any], targets: dict, context: WriteContext
) -> None:
    created = deployment._state.adding
    for field in RESTORED_FIELDS:
        setattr(deployment, field, body[field])
    deployment.flow = targets["flow"]
    deployment.work_queue = targets["work_queue"]
    options = body.get("concurrency_options") or {}
    deployment.concurrency_collision_strategy = options.get("collision_strategy")
    deployment.concurrency_grace_period_seconds = options.get("grace_period_seconds")
    deployment.created_by = deployment.created_by if not created else body.get("created_by")
    stamped = context.stamped_actor()
    deployment.updated_by = stamped or body.get("updated_by")
    refuse(deployment_form_problems(deployment))
    deployment.global_concurrency_limit = targets["limit"]
    saved(deployment)
    own = body.get("global_concurrency_limit")
    if own is not None and own.get("name") == own_limit_name(body["id"]):
        set_own_concurrency_limit(deployment, own["limit"])
        deployment.save(update_fields=["global_concurrency_limit"])
    elif ConcurrencyLimit.objects.filter(owner=deployment).exists():
        set_own_concurrency_limit(deployment, None)
        deployment.global_concurrency_limit = targets["limit"]
        deployment.save(update_fields=["global_concurrency_limit"])


def restore_schedules(deployment: Deployment, entries: list[Mapping[str, Any]]) -> None:
    """The version's schedules, with their ids: rows it lacks go, rows it names come back
    as they were."""
    wanted = {UUID(entry["id"]): entry for entry in entries}
    deployment.schedules.exclude(id__in=list(wanted)).delete()
    existing = {row.id: row for row in deployment.schedules.filter(id__in=list(wanted))}
    # Free every slug first, so that two schedules may swap theirs.
    DeploymentSchedule.objects.filter(id__in=list(existing)).update(slug=None)
    missing = []
    for schedule_id, entry in wanted.items():
        row = existing.get(schedule_id) or DeploymentSchedule(
            id=schedule_id,
            deployment=deployment,
            created=parse_datetime(entry["created"]),
        )
        row.schedule = schedule_from(entry["schedule"], at=("schedules",))
        row.active = entry["active"]
        row.max_scheduled_runs = entry["max_scheduled_runs"]
        row.parameters = entry["parameters"] or {}
        row.slug = entry["slug"]
        if schedule_id in existing:
            saved(row)
        else:
            missing.append(row)
    if missing:
        taken = DeploymentSchedule.objects.filter(id__in=[row.id for row in missing])
        if taken.exists():
            raise RestoreRefused("A schedule of this version belongs to another deployment now.")
        bulk_created(missing)
