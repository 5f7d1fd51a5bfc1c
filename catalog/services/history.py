"""Recording the change history: every door opens a change set around its writes, and
before the transaction commits the objects the writes touched (marked by the database's
triggers, whoever wrote) become versions, one an object, each with the object's API JSON
after the change. A write that changed no configuration records nothing.

Writes made outside every door (SQL by hand, a Django shell) are marked too; the next
change set records them first, in a change set of their own by "outside the catalog".
"""

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Exists, Max, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from catalog.models import (
    ChangeKind,
    ChangeSet,
    ConcurrencyLimit,
    Deployment,
    Flow,
    ObjectType,
    PendingChange,
    Variable,
    Version,
    WorkPool,
    WorkQueue,
)
from catalog.models.bulk import insert_rows
from catalog.rendering.deployment_json import rendered_deployments
from catalog.rendering.json_cache import keep_current
from catalog.rendering.jsontext import dumps
from catalog.rendering.serializers import (
    ConcurrencyLimitSerializer,
    FlowSerializer,
    VariableSerializer,
    WorkPoolSerializer,
    WorkQueueSerializer,
)
from catalog.rules.history_diff import changes, is_change
from catalog.services.context import Actor, Door, WriteContext

OUTSIDE = WriteContext(Actor.system("outside the catalog"), Door.OTHER)
SHARED_OBJECTS = {
    ObjectType.FLOW: (Flow, FlowSerializer),
    ObjectType.WORK_POOL: (WorkPool, WorkPoolSerializer),
    ObjectType.WORK_QUEUE: (WorkQueue, WorkQueueSerializer),
    ObjectType.CONCURRENCY_LIMIT: (ConcurrencyLimit, ConcurrencyLimitSerializer),
    ObjectType.VARIABLE: (Variable, VariableSerializer),
}
BATCH = 1000
# Version ids `prune_history` deletes among in one transaction.
PRUNE_WINDOW = 10_000


@dataclass
class Recorder:
    """The open change set: who writes, and what the writes said of their versions."""

    context: WriteContext | Callable[[], WriteContext]
    using: str = DEFAULT_DB_ALIAS
    restored_from: dict[UUID, int] = field(default_factory=dict)
    keeps_bodies: bool = True
    # Saved once: versions recorded before the change set ends join it.
    saved: ChangeSet | None = None

    @property
    def change_set_id(self) -> UUID | None:
        return self.saved.id if self.saved else None

    def write_context(self) -> WriteContext:
        return self.context() if callable(self.context) else self.context


_current: ContextVar[Recorder | None] = ContextVar("catalog_change_set", default=None)


@contextmanager
def change_set(
    context: WriteContext | Callable[[], WriteContext], *, using: str = DEFAULT_DB_ALIAS
) -> Iterator[Recorder]:
    """One transaction whose writes are recorded as one change set when it ends without
    an error; `context` (or a function giving it, asked at the end) says who and why.
    A change set opened inside another is part of the outer one."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    recorder = Recorder(context, using)
    record_writes_outside_the_doors(using)
    with transaction.atomic(using=using):
        token = _current.set(recorder)
        try:
            yield recorder
            if not connections[using].needs_rollback:
                record_pending(recorder)
        finally:
            _current.reset(token)


def record_writes_outside_the_doors(using: str) -> None:
    """Marks left by writes made outside every door, recorded in a transaction of their
    own before the door's begins. It takes no lock a door's write takes (it keeps no
    bodies), so a door's write waiting for it cannot be waited for in turn."""
    if not PendingChange.objects.using(using).exists():
        return
    with transaction.atomic(using=using):
        record_pending(Recorder(OUTSIDE, using, keeps_bodies=False))


def current_change_set() -> Recorder | None:
    return _current.get()


def note_restore(deployment_id: UUID, number: int) -> None:
    """The open change set's version of the deployment restores version `number`."""
    recorder = _current.get()
    if recorder is not None:
        recorder.restored_from[deployment_id] = number


# Turning the marks into versions --------------------------------------------------------


def record_pending(recorder: Recorder) -> int:
    """Versions of every object the open transaction's writes marked; the marks go. How
    many versions were recorded.

    The marks are read a batch at a time, in the order they were made, and each batch's
    versions written before the next is read: a change set of a million objects holds a
    thousand of them at a time. They are read locked, skipping those another transaction
    holds: two change sets opening at once must not both record one mark left by a write
    outside every door (the other records it; its own uncommitted marks are invisible
    here anyway)."""
    recorded, after = 0, None
    while True:
        marks = next_marks(recorder.using, after)
        if marks:
            recorded += record_marks(recorder, marks)
            after = marks[-1][0]
        if len(marks) < BATCH:  # the last batch (saves asking again for none)
            return recorded


def next_marks(using: str, after: int | None) -> list[tuple]:
    """The next marks by id, past `after`: the index is entered past the marks deleted
    before, which the open transaction cannot prune (a scan from the first id would step
    over all of them again, each batch)."""
    rows = (
        PendingChange.objects.using(using)
        .select_for_update(skip_locked=True)
        .order_by("id")
        .values_list("id", "object_type", "object_id", "name", "flow_id")
    )
    if after is not None:
        rows = rows.filter(id__gt=after)
    return list(rows[:BATCH])


def record_marks(recorder: Recorder, marks: list[tuple]) -> int:
    """One batch of marks made versions, written; the marks deleted."""
    by_type: dict[str, list[tuple]] = defaultdict(list)
    for _, *mark in marks:
        by_type[mark[0]].append(tuple(mark))
    versions: list[dict] = []
    for object_type, type_marks in by_type.items():
        versions += versions_of(object_type, type_marks, recorder)
    mark_ids = [mark[0] for mark in marks]
    PendingChange.objects.using(recorder.using).filter(id__in=mark_ids).delete()
    if versions:
        change = saved_change_set(recorder)
        for version in versions:
            version["change_set_id"] = change.id
            version["at"] = change.at
        insert_rows(Version, versions, recorder.using)
    return len(versions)


def saved_change_set(recorder: Recorder) -> ChangeSet:
    if recorder.saved is not None:
        return recorder.saved
    context = recorder.write_context()
    change = ChangeSet(
        actor_kind=context.actor.kind,
        actor_name=context.actor.name[: ChangeSet._meta.get_field("actor_name").max_length],
        actor_id=context.actor.id,
        door=context.door,
        reason=context.reason or None,
    )
    change.save(using=recorder.using)
    recorder.saved = change
    return change


def versions_of(object_type: str, marks: list[tuple], recorder: Recorder) -> list[dict]:
    """The columns of each new version of the marked objects of one type."""
    if not settings.CATALOG_HISTORY and object_type != ObjectType.DEPLOYMENT:
        return []
    ids = [mark[1] for mark in marks]
    bodies = rendered(object_type, ids, recorder.using)
    texts = {id: dumps(body) for id, body in bodies.items()}
    if object_type == ObjectType.DEPLOYMENT:
        keep_bodies(recorder, texts)
    if not settings.CATALOG_HISTORY:
        return []  # no versions; the deployments' bodies are kept all the same
    heads = latest_versions(object_type, ids, recorder.using)
    flow_names = flow_names_of(object_type, bodies, marks, heads, recorder.using)
    versions = []
    for _, object_id, deleted_name, _ in marks:
        head = heads.get(object_id)
        body = bodies.get(object_id)
        if not recorded(object_type, body, head, deleted_name):
            continue
        restored = recorder.restored_from.get(object_id) if body is not None else None
        versions.append(
            {
                "object_type": object_type,
                "object_id": object_id,
                "number": (head.number + 1) if head else 1,
                "kind": kind_of(body, head, restored),
                "name": (body or {}).get("name") or deleted_name or (head.name if head else ""),
                "flow_name": flow_names.get(object_id),
                "tags": (body or {}).get("tags") or (head.tags if head else []),
                "after": texts[object_id].decode() if body is not None else None,
                "restored_from": restored,
            }
        )
    return versions


def recorded(object_type: str, body: dict | None, head: Version | None, deleted_name) -> bool:
    """Whether the object's state now is a change from its latest version."""
    if body is None:
        # Deleted: a change unless the history already says so, or knows nothing of it.
        return (head is not None and head.kind != ChangeKind.DELETED) or (
            head is None and bool(deleted_name)
        )
    if head is None or head.after is None:
        return True
    return is_change(object_type, json.loads(head.after), body)


def keep_bodies(recorder: Recorder, texts: dict[UUID, bytes]) -> None:
    if recorder.keeps_bodies:
        keep_current(texts, recorder.using)


def kind_of(body: dict | None, head: Version | None, restored: int | None) -> str:
    if body is None:
        return ChangeKind.DELETED
    if restored is not None:
        return ChangeKind.RESTORED
    if head is None or head.kind == ChangeKind.DELETED:
        return ChangeKind.CREATED
    return ChangeKind.CHANGED


def rendered(object_type: str, ids: list[UUID], using: str) -> dict[UUID, dict]:
    """The API JSON of each object of `ids` that still exists."""
    if object_type == ObjectType.DEPLOYMENT:
        return rendered_deployments(ids, using)
    model, serializer = SHARED_OBJECTS[object_type]
    rows = model.objects.using(using).filter(id__in=ids)
    if model is WorkQueue:
        rows = rows.select_related("work_pool")
    return {row.id: json.loads(dumps(serializer(row).data)) for row in rows}


def latest_versions(object_type: str, ids: list[UUID], using: str) -> dict[UUID, Version]:
    if connections[using].vendor == "postgresql":
        rows = Version.objects.using(using).raw(LATEST_VERSIONS_SQL, [list(ids), object_type])
        return {row.object_id: row for row in rows}
    newest = Version.objects.filter(
        object_type=OuterRef("object_type"), object_id=OuterRef("object_id")
    ).order_by("-number")
    rows = Version.objects.using(using).filter(
        object_type=object_type,
        object_id__in=ids,
        number=Subquery(newest.values("number")[:1]),
    )
    return {row.object_id: row for row in rows}


# One backward probe of (object_type, object_id, number) per id, whatever the statistics
# say. The correlated form above, on a table grown by imports that autovacuum has not
# analysed yet, was planned as a scan of every version of the type, and each import
# batch got slower as the history grew (0.5 s a batch at 300,000 deployments).
LATEST_VERSIONS_SQL = f"""
    SELECT newest.* FROM unnest(%s::uuid[]) AS wanted(object_id)
    CROSS JOIN LATERAL (
        SELECT * FROM {Version._meta.db_table} AS version
        WHERE version.object_type = %s AND version.object_id = wanted.object_id
        ORDER BY version.number DESC LIMIT 1
    ) AS newest
"""


def flow_names_of(object_type, bodies, marks, heads, using) -> dict[UUID, str]:
    """Each deployment's flow's name: the flow's row, or a deleted flow's last name."""
    if object_type != ObjectType.DEPLOYMENT:
        return {}
    flow_of = {id: UUID(body["flow_id"]) for id, body in bodies.items()}
    flow_of.update({mark[1]: mark[3] for mark in marks if mark[3] is not None})
    names = dict(
        Flow.objects.using(using).filter(id__in=set(flow_of.values())).values_list("id", "name")
    )
    gone = set(flow_of.values()) - set(names)
    if gone:
        names.update(
            PendingChange.objects.using(using)
            .filter(object_type=ObjectType.FLOW, object_id__in=gone)
            .values_list("object_id", "name")
        )
    found = {id: names.get(flow_id) for id, flow_id in flow_of.items()}
    for id, head in heads.items():
        found[id] = found.get(id) or head.flow_name
    return found


# Reading ---------------------------------------------------------------------------------


def versions_of_object(object_type: str, object_id: UUID) -> QuerySet:
    """An object's versions, newest first, each with its JSON before (`with_before_text`)."""
    return with_before_text(
        Version.objects.filter(object_type=object_type, object_id=object_id)
        .select_related("change_set")
        .order_by("-number")
    )


def with_before_text(versions: QuerySet) -> QuerySet:
    """Each version with its object's JSON before it (the previous version's `after`) as
    `before_text`, read in the same query by the unique index on the version numbers."""
    previous = Version.objects.filter(
        object_type=OuterRef("object_type"),
        object_id=OuterRef("object_id"),
        number=OuterRef("number") - 1,
    ).values("after")[:1]
    return versions.annotate(before_text=Subquery(previous))


def before_and_after(version: Version) -> tuple[dict | None, dict | None]:
    """A version's object's JSON before and after it; a version read without
    `with_before_text` costs a query for the before."""
    if not hasattr(version, "before_text"):
        version = with_before_text(Version.objects.filter(pk=version.pk)).get()
    return loaded(version.before_text), loaded(version.after)


def loaded(text: str | None) -> Any:
    return json.loads(text) if text else None


def version_changes(version: Version) -> list[dict]:
    """What `version` changed: `{"path", "old", "new"}` for each value."""
    return changes(version.object_type, *before_and_after(version))


# Purging and pruning ----------------------------------------------------------------------


def deployments_in_history(*, flow_name: str, name: str) -> list[UUID]:
    """The ids of the deployments named `flow_name`/`name`, now or in any version: a
    deleted deployment's history is found by the names it had."""
    live = Deployment.objects.filter(flow__name=flow_name, name=name).values_list("id", flat=True)
    recorded = (
        Version.objects.filter(object_type=ObjectType.DEPLOYMENT, flow_name=flow_name, name=name)
        .order_by()
        .values_list("object_id", flat=True)
        .distinct()
    )
    return sorted(set(live) | set(recorded))


def history_purge(*, object_type: str, object_id: UUID, context: WriteContext) -> int:
    """Delete every version of the object (a secret pasted into its parameters), leaving
    one `purged` version that says who purged it and why; how many were deleted."""
    with change_set(context) as recorder:
        head = latest_versions(object_type, [object_id], recorder.using).get(object_id)
        if head is None:
            return 0
        versions = Version.objects.filter(object_type=object_type, object_id=object_id)
        emptied = set(versions.values_list("change_set_id", flat=True))
        deleted, _ = versions.delete()
        change = saved_change_set(recorder)
        Version.objects.create(
            change_set=change,
            at=change.at,
            object_type=object_type,
            object_id=object_id,
            number=head.number + 1,
            kind=ChangeKind.PURGED,
            name=head.name,
            flow_name=head.flow_name,
            tags=head.tags,
        )
        drop_empty_change_sets(among=emptied)
    return deleted


def history_prune(*, older_than_days: int) -> int:
    """Delete versions older than the given days, but each existing object's latest
    version (the state its next change is compared with); how many were deleted. Works
    through the ids a window at a time, each window its own transaction, so a large
    history is never listed whole nor locked for long."""
    old = Version.objects.filter(at__lt=timezone.now() - timedelta(days=older_than_days))
    ids = old.aggregate(first=Min("id"), last=Max("id"))
    if ids["first"] is None:
        return 0
    newer = Version.objects.filter(
        object_type=OuterRef("object_type"),
        object_id=OuterRef("object_id"),
        number__gt=OuterRef("number"),
    )
    windows = range(ids["first"], ids["last"] + 1, PRUNE_WINDOW)
    # Superseded versions first: deleting them never changes which version is an
    # object's latest. Then the deletions left as latest: their objects are gone.
    superseded = deleted_by_window(old, Exists(newer), windows)
    return superseded + deleted_by_window(old, Q(kind=ChangeKind.DELETED), windows)


def deleted_by_window(old, condition, windows: range) -> int:
    """Delete the `old` versions that meet `condition`, the ids of one window at a time,
    with the change sets each window leaves empty; how many were deleted."""
    deleted = 0
    for start in windows:
        window = old.filter(id__gte=start, id__lt=start + windows.step)
        with transaction.atomic():
            # The window's change sets, whatever their versions meet: far cheaper to
            # list, and one still holding a version is kept.
            touched = set(window.order_by().values_list("change_set_id", flat=True).distinct())
            count, _ = window.filter(condition).delete()
            drop_empty_change_sets(among=touched)
        deleted += count
    return deleted


def drop_empty_change_sets(*, among) -> None:
    """Delete the change sets of `among` (ids) that no longer hold any version, in SQL:
    Django's cascading delete would load each one and look for versions it has not."""
    connection = connections[DEFAULT_DB_ALIAS]
    prepare = ChangeSet._meta.pk.get_db_prep_value
    ids = [prepare(id, connection) for id in among]
    change_sets, versions = ChangeSet._meta.db_table, Version._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            cursor.execute(
                f"DELETE FROM {change_sets} WHERE id IN ({', '.join(['%s'] * len(chunk))}) "
                f"AND NOT EXISTS (SELECT 1 FROM {versions} WHERE change_set_id = {change_sets}.id)",
                chunk,
            )
