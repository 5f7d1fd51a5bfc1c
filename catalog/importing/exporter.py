"""Exports the catalog's deployments as a bundle `import_deployments` takes back (JSON:
flows, those without a deployment too, limits, pools, deployments, and variables when
asked), or as a prefect.yaml. Exporting, importing into an empty catalog and exporting
again gives the same bytes."""

import io
import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

import yaml
from django.db.models import Q, QuerySet

from catalog.models import ConcurrencyLimit, Deployment, Flow, Variable, WorkPool
from catalog.rendering.deployment_json import deployment_instance_json
from catalog.rendering.jsontext import dumps
from catalog.rendering.serializers import (
    ConcurrencyLimitSerializer,
    FlowSerializer,
    VariableSerializer,
    WorkPoolSerializer,
    WorkQueueSerializer,
)

# libyaml's dumper writes the same text as PyYAML's own, three times as fast (an admin
# export renders its file within one request).
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Deployments an export reads at a time (with their schedules, in one more query).
EXPORT_BATCH = 500


def deployments_to_export(flow: str | None = None, tag: str | None = None) -> QuerySet:
    # The flow too: a prefect.yaml names each deployment's flow.
    deployments = (
        Deployment.objects.with_related()
        .select_related("flow")
        .order_by("flow__name", "name", "id")
    )
    if flow:
        deployments = deployments.filter(flow__name=flow)
    if tag:
        deployments = deployments.filter(tags__has_all_tags=[tag])
    return deployments


def flows_to_export(flow: str | None = None, tag: str | None = None) -> QuerySet:
    """The flows an export keeps besides those of its deployments: every flow, or the
    one `flow` names, deployments or not. A `tag` selects deployments, so with it only
    the flows of the deployments with the tag are kept."""
    if tag:
        return Flow.objects.none()
    return Flow.objects.filter(name=flow) if flow else Flow.objects.all()


def export_bundle(
    deployments: QuerySet,
    *,
    flows: QuerySet | None = None,
    include_variables: bool = False,
) -> dict[str, Any]:
    """The deployments as the API renders them, with their flows, limits and pools, and
    also the `flows` given (those without a deployment among them). Variables only when
    asked for: they may hold secrets. All in memory: `write_bundle` streams it."""
    parts = bundle_parts(deployments, flows=flows, include_variables=include_variables)
    return {key: list(items) for key, items in parts.items()}


def bundle_parts(
    deployments: QuerySet,
    *,
    flows: QuerySet | None = None,
    include_variables: bool = False,
) -> dict[str, Iterator[dict]]:
    """Each key of the bundle with its objects, read from the database as they are
    consumed, `EXPORT_BATCH` deployments at a time (their related rows with them)."""
    named = deployments.order_by()
    selected = Q(id__in=named.values("flow_id"))
    if flows is not None:
        selected |= Q(id__in=flows.values("id"))
    limits = ConcurrencyLimit.objects.filter(
        id__in=named.filter(global_concurrency_limit_id__isnull=False).values(
            "global_concurrency_limit_id"
        )
    ).order_by("name")
    pools = (
        WorkPool.objects.filter(
            queues__in=named.filter(work_queue_id__isnull=False).values("work_queue_id")
        )
        .distinct()
        .order_by("name")
        .prefetch_related("queues")
    )
    parts = {
        "flows": each(FlowSerializer, Flow.objects.filter(selected).order_by("name")),
        "concurrency_limits": each(ConcurrencyLimitSerializer, limits),
        "work_pools": (pool_json(pool) for pool in pools),
        "deployments": (
            deployment_instance_json(row) for row in deployments.iterator(EXPORT_BATCH)
        ),
    }
    if include_variables:
        parts["variables"] = each(VariableSerializer, Variable.objects.order_by("name"))
    return parts


def each(serializer, rows: QuerySet) -> Iterator[dict]:
    return (serializer(row).data for row in rows.iterator(EXPORT_BATCH))


def variables_left_out() -> str | None:
    """What an export door says when it leaves the catalog's variables out of a bundle,
    in one line; None when there are none."""
    count = Variable.objects.count()
    if not count:
        return None
    return (
        f"{count} variable{'s' if count != 1 else ''} left out of the bundle (they may hold "
        "secrets); export_deployments --include-variables adds them"
    )


def pool_json(pool: WorkPool) -> dict:
    queues = sorted(pool.queues.all(), key=lambda queue: (queue.priority, queue.name))
    return {**WorkPoolSerializer(pool).data, "queues": WorkQueueSerializer(queues, many=True).data}


def bundle_text(bundle: dict) -> str:
    text = io.StringIO()
    write_bundle(text, {key: iter(items) for key, items in bundle.items()})
    return text.getvalue()


def write_bundle(stream: TextIO, parts: dict[str, Iterable[dict]]) -> dict[str, int]:
    """The bundle's JSON, indented, written to `stream` an object at a time: the text
    `json.dumps(bundle, indent=2)` gives, with Prefect's values (`dumps`). How many
    objects of each key were written."""
    counts = {}
    stream.write("{")
    for number, (key, items) in enumerate(parts.items()):
        stream.write(f"{',' if number else ''}\n  {json.dumps(key)}: [")
        counts[key] = 0
        for item in items:
            text = json.dumps(json.loads(dumps(item)), indent=2, ensure_ascii=False)
            separator = "," if counts[key] else ""
            stream.write(separator + "\n    " + text.replace("\n", "\n    "))
            counts[key] += 1
        stream.write("\n  ]" if counts[key] else "]")
    stream.write("\n}\n" if parts else "}\n")
    return counts


def export_prefect_yaml(deployments: QuerySet) -> str:
    """A prefect.yaml with one entry a deployment, in the keys `prefect deploy` reads;
    `flow_name` names the flow, since the flow's code is not part of the catalog."""
    text = io.StringIO()
    write_prefect_yaml(text, deployments)
    return text.getvalue()


def write_prefect_yaml(stream: TextIO, deployments: QuerySet) -> int:
    """The prefect.yaml written to `stream` an entry at a time; how many entries. Each
    entry is dumped alone: a block sequence under a top-level key is not indented, so
    its text is that of the same entry in the whole document."""
    options = {"Dumper": SAFE_DUMPER, "sort_keys": False, "allow_unicode": True, "width": 100}
    head = {"prefect-version": "3.9.1", "name": "prefect-catalog-export"}
    count = 0
    for row in deployments.iterator(EXPORT_BATCH):
        if not count:
            stream.write(yaml.dump({**head, "deployments": None}, **options)[: -len(" null\n")])
            stream.write("\n")
        stream.write(yaml.dump([deployment_yaml(row)], **options))
        count += 1
    if not count:
        stream.write(yaml.dump({**head, "deployments": []}, **options))
    return count


def deployment_yaml(row: Deployment) -> dict:
    entry: dict[str, Any] = {
        "name": row.name,
        "flow_name": row.flow.name,
        "version": row.version,
        "description": row.description,
        "entrypoint": row.entrypoint,
        "tags": row.tags,
        "parameters": row.parameters,
        "enforce_parameter_schema": row.enforce_parameter_schema,
        "paused": row.paused,
        "work_pool": {
            "name": row.work_pool_name,
            "work_queue_name": row.work_queue_name,
            "job_variables": row.job_variables,
        },
    }
    if row.global_concurrency_limit_id:
        entry["concurrency_limit"] = concurrency_yaml(row)
    # Oldest first: an import makes them in the order listed, so the order survives.
    in_creation_order = sorted(row.schedules.all(), key=lambda s: (s.created, str(s.id)))
    entry["schedules"] = [schedule_yaml(schedule) for schedule in in_creation_order]
    entry["pull"] = row.pull_steps
    return entry


def concurrency_yaml(row: Deployment) -> Any:
    limit = row.global_concurrency_limit.limit
    if row.concurrency_collision_strategy is None:
        return limit
    options = {"limit": limit, "collision_strategy": row.concurrency_collision_strategy}
    if row.concurrency_grace_period_seconds is not None:
        options["grace_period_seconds"] = row.concurrency_grace_period_seconds
    return options


def schedule_yaml(schedule) -> dict:
    from catalog.rules.schedules import schedule_to_json

    entry = dict(schedule_to_json(schedule.schedule))
    entry.update(
        {"active": schedule.active, "slug": schedule.slug, "parameters": schedule.parameters}
    )
    # No `max_scheduled_runs`: `prefect deploy` refuses the key in a prefect.yaml (and
    # skips the whole file). The JSON bundle keeps it.
    return entry
