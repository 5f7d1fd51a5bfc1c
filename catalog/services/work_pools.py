"""Work pools and queues: creation with Prefect's rules, and how a deployment's pool and
queue names find (or make) its queue."""

from collections.abc import Mapping
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import (
    DEFAULT_AGENT_POOL,
    DEFAULT_POOL_TYPE,
    DEFAULT_QUEUE,
    DEFAULT_QUEUE_DESCRIPTION,
    WorkPool,
    WorkQueue,
    WorkStatus,
)
from catalog.rules import limits, parameters
from catalog.rules.job_templates import check_base_job_template
from catalog.rules.problems import Problem, RuleError, problem_from
from catalog.rules.text import text_problem
from catalog.services.checks import (
    checked,
    columns_of,
    problems_named,
    problems_of,
    refuse,
    saved,
)
from catalog.services.context import WriteContext
from catalog.services.errors import Conflict, Invalid, NotFound


def check_job_template(value: Any) -> dict:
    """A JSON object every placeholder of whose job configuration it declares."""
    return check_base_job_template(limits.check_json_object(value))


POOL_RULES = {
    "name": (("name",), limits.check_name),
    "description": (("description",), limits.check_text),
    "type": (("type",), lambda value: limits.check_short_text(value, nullable=False)),
    "base_job_template": (("base_job_template",), check_job_template),
    "storage_configuration": (("storage_configuration",), limits.check_json_object),
    "concurrency_limit": (("concurrency_limit",), limits.check_optional_integer),
    "status": (
        ("status",),
        lambda value: limits.check_choice(value, limits.WORK_STATUSES, nullable=True),
    ),
}
QUEUE_RULES = {
    "name": (("name",), limits.check_name),
    "description": (("description",), limits.check_text),
    "priority": (("priority",), limits.check_priority),
    "concurrency_limit": (("concurrency_limit",), limits.check_optional_integer),
    "status": (("status",), lambda value: limits.check_choice(value, limits.WORK_STATUSES)),
}
POOL_TAKEN = "A work pool with this name already exists."
# Prefect's message, with its unfilled placeholder, as its server sends it.
QUEUE_TAKEN = "A work queue with this name already exists in work pool {work_pool_name!r}."
# The columns every pool has a value in.
ALWAYS_SET = ("is_paused", "base_job_template", "storage_configuration")


def pool_problems(values: Mapping[str, Any], *, renamed: bool = True) -> list[Problem]:
    """The problems of a pool's values; a new or renamed pool may not take a reserved name."""
    problems = problems_of(values, POOL_RULES)
    if renamed and "name" in values and not problems:
        try:
            limits.check_work_pool_name(values["name"])
        except RuleError as error:
            problems.append(problem_from(error, "name"))
    return problems


def check_pool(values: Mapping[str, Any], *, renamed: bool = True) -> None:
    refuse(pool_problems(values, renamed=renamed))


def queue_problems(values: Mapping[str, Any]):
    return problems_of(values, QUEUE_RULES)


def check_queue(values: Mapping[str, Any]) -> None:
    checked(values, QUEUE_RULES)


# Pools -----------------------------------------------------------------------------------


def work_pool_create(*, values: Mapping[str, Any], context: WriteContext) -> WorkPool:
    """`POST /work_pools/`: a new pool with its default queue; a taken name conflicts."""
    check_pool(values)
    if WorkPool.objects.filter(name=values["name"]).exists():
        raise Conflict(POOL_TAKEN, ("name",))
    kind, paused = values.get("type", DEFAULT_POOL_TYPE), values.get("is_paused", False)
    try:
        with transaction.atomic():
            WorkPool.objects.create(**values, status=status_of(kind, paused=paused))
    except IntegrityError:
        raise Conflict(POOL_TAKEN, ("name",)) from None
    return work_pool_ensure(values["name"])


def work_pool_save(*, pool: WorkPool, renamed: bool, context: WriteContext) -> None:
    """A pool as a form left it (the admin): every field checked, then saved, with its
    default queue made if it has none."""
    check_pool(columns_of(pool, POOL_RULES), renamed=renamed)
    status_follows_pause(pool)
    saved(pool)
    work_pool_ensure(pool.name)


def status_follows_pause(pool: WorkPool) -> None:
    """A paused pool is PAUSED, and a pool resumed from PAUSED is NOT_READY, whoever
    (un)paused it; a `prefect-agent` pool keeps its status."""
    if pool.type == DEFAULT_POOL_TYPE:
        return
    if pool.is_paused:
        pool.status = WorkStatus.PAUSED
    elif pool.status == WorkStatus.PAUSED:
        pool.status = WorkStatus.NOT_READY


def work_pool_ensure(name: str) -> WorkPool:
    """The pool of that name with its default queue, both made if missing."""
    # Prefect makes the default agent pool with no status of its own.
    defaults = {"status": None} if name == DEFAULT_AGENT_POOL else {}
    pool, created = WorkPool.objects.get_or_create(name=name, defaults=defaults)
    if created or pool.default_queue_id is None:
        pool.default_queue, _ = WorkQueue.objects.get_or_create(
            work_pool=pool,
            name=DEFAULT_QUEUE,
            defaults={"description": DEFAULT_QUEUE_DESCRIPTION},
        )
        pool.save(update_fields=["default_queue"])
    return pool


def work_pool_named(name: str) -> WorkPool:
    """An existing pool (the default agent pool is made on demand)."""
    if name == DEFAULT_AGENT_POOL:
        return work_pool_ensure(name)
    pool = WorkPool.objects.filter(name=name).first()
    if pool is None:
        raise NotFound("work pool", f'Work pool "{name}" not found.')
    return pool


def work_pool_update_named(
    *, name: str, changes: Mapping[str, Any], context: WriteContext
) -> WorkPool:
    """`PATCH /work_pools/{name}`: the keys given are written. A pool named "prefect…"
    may only be paused or given a limit (refused before the lookup, as in Prefect)."""
    reserved = partial(limits.check_work_pool_changes, fields=frozenset(changes))
    checked({"name": name}, {"name": (("name",), reserved)})
    pool = pool_by_name(name)
    work_pool_update(pool=pool, changes=changes, context=context)
    return pool


def work_pool_update(*, pool: WorkPool, changes: Mapping[str, Any], context: WriteContext) -> None:
    """Writes the keys given. `null` clears a description or a concurrency limit; for the
    columns a pool always has, Prefect's database refuses it (409), and so does the
    catalog. Pausing a pool makes it PAUSED and resuming it NOT_READY (the catalog has no
    workers to make it READY); a `prefect-agent` pool keeps its status."""
    if any(changes.get(field, "") is None for field in ALWAYS_SET):
        raise Conflict()
    check_pool(changes, renamed=False)
    for field, value in changes.items():
        setattr(pool, field, value)
    if "is_paused" in changes and pool.type != DEFAULT_POOL_TYPE:
        pool.status = status_of(pool.type, paused=pool.is_paused)
    saved(pool)


def status_of(kind: str, *, paused: bool) -> str | None:
    """A pool's status as Prefect sets it when the pool is made or (un)paused: PAUSED or
    NOT_READY (the catalog has no workers to make it READY); none for `prefect-agent`."""
    if kind == DEFAULT_POOL_TYPE:
        return None
    return WorkStatus.PAUSED if paused else WorkStatus.NOT_READY


def pool_by_name(name: str) -> WorkPool:
    # A name with a NUL in it names nothing, and PostgreSQL would refuse the lookup.
    storable = text_problem(name) is None
    pool = WorkPool.objects.filter(name=name).first() if storable else None
    if pool is None:
        raise NotFound("work pool", f'Work pool "{name}" not found.')
    return pool


def work_pool_delete(*, pool: WorkPool, context: WriteContext) -> None:
    pool.delete()


def work_pool_delete_named(*, name: str, context: WriteContext) -> None:
    """`DELETE /work_pools/{name}`: a reserved name is refused before the lookup, as in
    Prefect; the pool's queues go with it, and its deployments keep no pool."""
    checked({"name": name}, {"name": (("name",), limits.check_work_pool_deletable)})
    work_pool_delete(pool=pool_by_name(name), context=context)


# Queues ----------------------------------------------------------------------------------


def work_queue_for(pool_name: str | None, queue_name: str | None) -> WorkQueue | None:
    """Prefect's resolution: a pool and queue name find or make the queue in that pool;
    a pool alone gives its default queue; a queue alone lives in `default-agent-pool`."""
    if pool_name:
        pool = work_pool_named(pool_name)
        if queue_name:
            with problems_named("work_queue_name"):
                return work_queue_ensure(pool, queue_name)
        return pool.default_queue or work_pool_ensure(pool.name).default_queue
    if queue_name:
        pool = work_pool_ensure(DEFAULT_AGENT_POOL)
        with problems_named("work_queue_name"):
            return work_queue_ensure(pool, queue_name)
    return None


def work_queue_ensure(pool: WorkPool, name: str) -> WorkQueue:
    """The pool's queue of that name, made with the first free priority if missing."""
    queue = pool.queues.filter(name=name).first()
    if queue is None:
        check_queue({"name": name})
        queue = WorkQueue.objects.create(work_pool=pool, name=name, priority=free_priority(pool))
    return queue


def free_priority(pool: WorkPool) -> int:
    """As in Prefect: a gap in 1, 2, 3… if there is one, else one past the last."""
    taken = sorted(pool.queues.values_list("priority", flat=True))
    return next((n for n, used in enumerate(taken, start=1) if n != used), len(taken) + 1)


def work_queue_create(
    *, pool_name: str, values: Mapping[str, Any], context: WriteContext
) -> WorkQueue:
    """`POST /work_pools/{name}/queues`: a new queue in an existing pool. Without a
    priority it takes the first free one; with one, the pool's queues at or after it move
    down just enough to keep their order, as in Prefect. A taken name conflicts."""
    pool = pool_by_name(pool_name)
    values = {key: value for key, value in values.items() if value is not None or key != "priority"}
    check_queue(values)
    if pool.queues.filter(name=values["name"]).exists():
        raise Conflict(QUEUE_TAKEN, ("name",))
    values = {**values, "description": values.get("description") or ""}
    priority = values.get("priority") or free_priority(pool)
    try:
        with transaction.atomic():
            queue = WorkQueue.objects.create(**{**values, "priority": priority}, work_pool=pool)
            if values.get("priority"):
                make_room(pool, queue)
    except IntegrityError:
        raise Conflict(QUEUE_TAKEN, ("name",)) from None
    return queue


def make_room(pool: WorkPool, placed: WorkQueue) -> None:
    """Puts `placed` before the other queues of its priority or after, then raises the
    priority of every queue that would not be after the one before it."""
    others = [queue for queue in pool.queues.order_by("priority") if queue.pk != placed.pk]
    position = next(
        (n for n, queue in enumerate(others) if queue.priority >= placed.priority), len(others)
    )
    last = 0
    for queue in [*others[:position], placed, *others[position:]]:
        if queue.priority <= last:
            last += 1
            queue.priority = last
            queue.save(update_fields=["priority", "updated"])
        else:
            last = queue.priority


def work_queue_update(
    *, queue: WorkQueue, changes: Mapping[str, Any], context: WriteContext
) -> None:
    """`PATCH /work_queues/{id}`: writes the keys given (a priority as given, no other
    queue moves, as in Prefect). Pausing makes the queue PAUSED and resuming a PAUSED
    queue makes it NOT_READY; a taken name conflicts."""
    check_queue(changes)
    for field, value in changes.items():
        setattr(queue, field, value)
    if changes.get("is_paused") is True:
        queue.status = WorkStatus.PAUSED
    elif changes.get("is_paused") is False and queue.status == WorkStatus.PAUSED:
        queue.status = WorkStatus.NOT_READY
    saved(queue)


def work_queue_delete(*, queue: WorkQueue, context: WriteContext) -> None:
    """`DELETE /work_queues/{id}`: a pool's default queue may not go (409, as Prefect's
    database refuses it)."""
    if WorkPool.objects.filter(default_queue=queue).exists():
        raise Conflict()
    queue.delete()


def work_queue_save(*, queue: WorkQueue, context: WriteContext) -> None:
    """A queue as a form left it (the admin): every field checked, then saved."""
    check_queue(columns_of(queue, QUEUE_RULES))
    saved(queue)


# Job variables ---------------------------------------------------------------------------


def check_job_variables(pool: WorkPool | None, job_variables: Any) -> None:
    """Job variables must fit the pool's variables schema (required keys aside), with the
    schema's defaults filling what they leave out, as in Prefect."""
    schema = pool.variables_schema() if pool is not None else None
    if not schema or not isinstance(job_variables, dict) or not job_variables:
        return
    defaults = {
        key: spec["default"]
        for key, spec in (schema.get("properties") or {}).items()
        if isinstance(spec, dict) and "default" in spec
    }
    try:
        parameters.check_parameters_preprocessed(
            {**defaults, **job_variables},
            schema,
            allow_none_with_default=True,
            schema_name=f"the base_job_template variables of work pool {pool.name!r}",
        )
    except parameters.ParameterSchemaError as exc:
        raise Invalid.at(("job_variables",), str(exc), "job_variables_off_schema") from None
