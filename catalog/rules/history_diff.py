"""What a change changed: two API bodies of one object compared field by field, in
Prefect's field names, with JSON paths for nested values.

Runtime state is not configuration: timestamps, a worker's poll (`status`,
`last_polled`), slot statistics and the actor stamps never count as a change. A
deployment's schedules are matched by slug (else by id), so reordering them changes
nothing. What a deployment shows of a shared object (its work pool's and queue's names,
a global concurrency limit's fields) changes with that object, which has versions of its
own: it counts for the deployment only when the deployment points at another object.
"""

from collections.abc import Iterator, Mapping
from typing import Any

RUNTIME_KEYS = {
    "deployment": {"created", "updated", "last_polled", "status", "created_by", "updated_by"},
    "flow": {"created", "updated"},
    "work_pool": {"created", "updated", "status", "active_slots"},
    "work_queue": {"created", "updated", "last_polled", "status", "active_slots"},
    "concurrency_limit": {
        "created",
        "updated",
        "active_slots",
        "denied_slots",
        "avg_slot_occupancy_seconds",
    },
    "variable": {"created", "updated"},
}
SCHEDULE_RUNTIME_KEYS = {"created", "updated", "deployment_id"}
LIMIT_RUNTIME_KEYS = {"created", "updated", "active_slots"}
ABSENT = object()


def configuration(object_type: str, body: Mapping | None) -> dict | None:
    """The body without its runtime state, schedules keyed by slug."""
    if body is None:
        return None
    runtime = RUNTIME_KEYS.get(object_type, {"created", "updated"})
    kept = {key: value for key, value in body.items() if key not in runtime}
    if object_type == "deployment":
        kept["schedules"] = schedules_by_key(body.get("schedules") or [])
        kept["global_concurrency_limit"] = limit_configuration(body)
    return kept


def schedules_by_key(schedules: list[Mapping]) -> dict[str, dict]:
    return {
        schedule_key(schedule): {
            key: value for key, value in schedule.items() if key not in SCHEDULE_RUNTIME_KEYS
        }
        for schedule in schedules
    }


def schedule_key(schedule: Mapping) -> str:
    slug = schedule.get("slug")
    return f"slug={slug}" if slug else f"id={schedule.get('id')}"


def own_limit_name(deployment_id: str) -> str:
    return f"deployment:{deployment_id}"


def limit_configuration(body: Mapping) -> Any:
    """A deployment's own limit is part of it; a shared one counts by its id alone."""
    limit = body.get("global_concurrency_limit")
    if limit is None:
        return None
    if limit.get("name") == own_limit_name(body.get("id")):
        return {key: value for key, value in limit.items() if key not in LIMIT_RUNTIME_KEYS}
    return {"id": limit.get("id"), "name": limit.get("name")}


def comparable(object_type: str, before: Mapping | None, after: Mapping | None):
    """Both bodies' configuration, with what shared objects show left out where the
    deployment still points at the same objects."""
    old, new = configuration(object_type, before), configuration(object_type, after)
    if object_type != "deployment" or old is None or new is None:
        return old, new
    if old.get("work_queue_id") == new.get("work_queue_id"):
        for key in ("work_queue_name", "work_pool_name"):
            old[key] = new[key] = None
    old_limit, new_limit = old["global_concurrency_limit"], new["global_concurrency_limit"]
    if is_shared(old_limit) and is_shared(new_limit) and old_limit["id"] == new_limit["id"]:
        old["global_concurrency_limit"] = new["global_concurrency_limit"]
    return old, new


def is_shared(limit: Any) -> bool:
    return isinstance(limit, dict) and set(limit) == {"id", "name"}


def is_change(object_type: str, before: Mapping | None, after: Mapping | None) -> bool:
    old, new = comparable(object_type, before, after)
    return old != new


def changes(object_type: str, before: Mapping | None, after: Mapping | None) -> list[dict]:
    """Each changed value as `{"path", "old", "new"}`; a whole object's fields when it
    was created or deleted."""
    old, new = comparable(object_type, before, after)
    return [
        {"path": path, "old": shown(old_value), "new": shown(new_value)}
        for path, old_value, new_value in walk("", old or {}, new or {})
    ]


def shown(value: Any) -> Any:
    return None if value is ABSENT else value


def walk(path: str, old: Any, new: Any) -> Iterator[tuple[str, Any, Any]]:
    if old == new or {id(old), id(new)} == {id(ABSENT), id(None)}:
        return  # a field with no value, on a created or deleted object
    if path == "schedules" and (old is ABSENT or new is ABSENT):
        # Schedules added with their deployment, or gone with it, are named one by one.
        old, new = ({} if old is ABSENT else old), ({} if new is ABSENT else new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(key for key in new if key not in old)]:
            yield from walk(joined(path, key), old.get(key, ABSENT), new.get(key, ABSENT))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new) and path:
        for index, (old_item, new_item) in enumerate(zip(old, new, strict=True)):
            yield from walk(f"{path}[{index}]", old_item, new_item)
    else:
        yield path, old, new


def joined(path: str, key: str) -> str:
    if path == "schedules":
        return f"schedules[{key}]"
    if key.isidentifier():
        return f"{path}.{key}" if path else key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'
