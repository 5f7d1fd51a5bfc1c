"""The rows deployments share, as an import writes them: work pools with their queues
(given in the input, or named by deployments and made as Prefect makes them), and global
concurrency limits (listed, embedded in deployments, or a deployment's own)."""

import uuid

from catalog.importing.records import ImportFailed, ImportResult, KindCounts, Record
from catalog.importing.specs import MISSING, DeploymentSpec, WorkTarget
from catalog.importing.values import is_uuid
from catalog.models import (
    DEFAULT_QUEUE,
    DEFAULT_QUEUE_DESCRIPTION,
    ConcurrencyLimit,
    Deployment,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.models.limits import OWN_LIMIT_PREFIX
from catalog.services.work_pools import free_priority, pool_problems, work_pool_ensure


class SharedRows:
    """Pools, queues and limits: written first, and looked up by the deployments after."""

    def __init__(self, result: ImportResult) -> None:
        self.result = result
        self.pools: dict[str, WorkPool] = {}
        self.queues: dict[tuple[str, str], WorkQueue] = {}
        self.pending_owners: dict = {}
        self.pool_by_queue: dict[uuid.UUID, WorkPool] = {}

    def write_pools(self, pools: list[tuple[Record, WorkPool, list[WorkQueue]]]) -> None:
        if not pools:
            return
        names = {pool.name: (record, pool) for record, pool, _ in pools}
        taken = WorkPool.objects.filter(name__in=names).exclude(id__in=[p.id for _, p, _ in pools])
        problems = [
            f"{names[name][0].where('name')}: a work pool named {name!r} already "
            "exists with another id"
            for name in taken.values_list("name", flat=True)
        ]
        if problems:
            raise ImportFailed(problems)
        existing = set(
            WorkPool.objects.filter(id__in=[p.id for _, p, _ in pools]).values_list("id", flat=True)
        )
        refuse_reserved_names(
            [(record, "name", pool.name) for record, pool, _ in pools if pool.id not in existing]
        )
        changed = to_write(WorkPool, [pool for _, pool, _ in pools], self.result.work_pools)
        defaults = {pool.id: pool.default_queue_id for pool in changed}
        for pool in changed:
            pool.default_queue_id = None
        WorkPool.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=[f for f in fields_of(WorkPool) if f != "default_queue_id"],
        )
        queues = [queue for _, _, pool_queues in pools for queue in pool_queues]
        WorkQueue.objects.bulk_create(
            to_write(WorkQueue, queues, self.result.work_queues),
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=fields_of(WorkQueue),
        )
        given = {queue.id for queue in queues}
        for pool in changed:
            self.set_default_queue(pool, defaults[pool.id], given)

    def set_default_queue(self, pool: WorkPool, queue_id, given: set) -> None:
        """The pool's default queue: the one named, made as "default" if the input lacks it."""
        if queue_id is None:
            return
        if queue_id not in given and not WorkQueue.objects.filter(id=queue_id).exists():
            WorkQueue.objects.create(
                id=queue_id,
                work_pool=pool,
                name=DEFAULT_QUEUE,
                priority=free_priority(pool),
                description=DEFAULT_QUEUE_DESCRIPTION,
            )
            self.result.work_queues.count("create")
        WorkPool.objects.filter(id=pool.id).update(default_queue_id=queue_id)

    def write_limits(self, limits: list[ConcurrencyLimit]) -> None:
        unique = {limit.id: limit for limit in limits}  # the last of the same id wins
        limits = list(unique.values())
        if not limits:
            return
        names = {limit.name: limit for limit in limits}
        taken = ConcurrencyLimit.objects.filter(name__in=names).exclude(id__in=unique)
        clashes = [
            f"global_concurrency_limit.name: a limit named {name!r} already exists with another id"
            for name in taken.values_list("name", flat=True)
        ]
        if clashes:
            raise ImportFailed(clashes)
        for limit in limits:
            if limit.name.startswith(OWN_LIMIT_PREFIX):
                owner = limit.name.removeprefix(OWN_LIMIT_PREFIX)
                limit.owner_id = uuid.UUID(owner) if is_uuid(owner) else None
        owners = {limit.owner_id for limit in limits if limit.owner_id}
        present = set(Deployment.objects.filter(id__in=owners).values_list("id", flat=True))
        self.pending_owners.update(
            (limit.id, limit.owner_id)
            for limit in limits
            if limit.owner_id and limit.owner_id not in present
        )
        changed = to_write(ConcurrencyLimit, limits, self.result.concurrency_limits)
        for limit in changed:
            if limit.id in self.pending_owners:
                limit.owner_id = None
        ConcurrencyLimit.objects.bulk_create(
            changed,
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=fields_of(ConcurrencyLimit),
        )

    def write_variables(self, variables: list[tuple[Record, Variable]]) -> None:
        """Each variable by its id, else by its name: a record updates the stored one."""
        if not variables:
            return
        stored = dict(
            Variable.objects.filter(name__in=[v.name for _, v in variables]).values_list(
                "name", "id"
            )
        )
        problems = [
            f"{record.where('id')}: a variable named {variable.name!r} already exists "
            f"with id {stored[variable.name]}"
            for record, variable in variables
            if variable.id is not None and stored.get(variable.name, variable.id) != variable.id
        ]
        if problems:
            raise ImportFailed(problems)
        for _, variable in variables:
            variable.id = variable.id or stored.get(variable.name) or uuid.uuid4()
        Variable.objects.bulk_create(
            to_write(Variable, [variable for _, variable in variables], self.result.variables),
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["updated", "name", "value", "tags"],
        )

    def load_work_queues(self, specs: list[DeploymentSpec]) -> None:
        """The pools and queues the records name, read in two queries."""
        targets = {spec.work_target for spec in specs if spec.work_target not in (MISSING, None)}
        pool_names = {target.pool_name for target in targets}
        for pool in WorkPool.objects.filter(name__in=pool_names):
            self.pools[pool.name] = pool
        queues = WorkQueue.objects.filter(work_pool__name__in=pool_names).select_related(
            "work_pool"
        )
        for queue in queues:
            self.queues[(queue.work_pool.name, queue.name)] = queue
            self.pool_by_queue[queue.id] = queue.work_pool

    def load_pools_of_queues(self, queue_ids: set) -> None:
        """The pools of the queues stored deployments use, read before planning runs."""
        missing = queue_ids - self.pool_by_queue.keys()
        for queue in WorkQueue.objects.filter(id__in=missing).select_related("work_pool"):
            self.pool_by_queue[queue.id] = queue.work_pool

    def pool_of_queue(self, queue_id) -> WorkPool | None:
        """A queue's pool, from what was read before (planning runs no query)."""
        return None if queue_id is None else self.pool_by_queue.get(queue_id)

    def work_queue(self, target: WorkTarget, record: Record) -> WorkQueue:
        key = (target.pool_name, target.queue_name)
        if key not in self.queues:
            pool = self.work_pool(target.pool_name, record)
            queue = pool.queues.filter(name=target.queue_name).first()
            if queue is None:
                if target.queue_id and WorkQueue.objects.filter(id=target.queue_id).exists():
                    raise ImportFailed(
                        [
                            f"{record.where('work_queue_id')}: queue "
                            f"{target.queue_id} exists, but not as "
                            f"{target.queue_name!r} in {target.pool_name!r}"
                        ]
                    )
                queue = WorkQueue.objects.create(
                    id=target.queue_id or uuid.uuid4(),
                    name=target.queue_name,
                    work_pool=pool,
                    priority=free_priority(pool),
                )
                self.result.work_queues.count("create")
            self.queues[key] = queue
            self.pool_by_queue[queue.id] = pool
        return self.queues[key]

    def work_pool(self, name: str, record: Record) -> WorkPool:
        """The pool a deployment names, made as Prefect makes it if it is new."""
        if name not in self.pools:
            pool = WorkPool.objects.filter(name=name).first()
            if pool is None:
                refuse_reserved_names([(record, "work_pool_name", name)])
                pool = work_pool_ensure(name)
                self.result.work_pools.count("create")
                self.result.work_queues.count("create")
            self.pools[name] = pool
        return self.pools[name]

    # Deployments -------------------------------------------------------------------

    def adopt_owned_limits(self) -> None:
        """Once the deployments are written, each limit named for one of them is its own.
        A limit named for a deployment neither in the catalog nor in the import stays a
        shared limit: Prefect ties the two by the name alone."""
        owners = set(self.pending_owners.values())
        present = set(Deployment.objects.filter(id__in=owners).values_list("id", flat=True))
        for limit_id, owner_id in self.pending_owners.items():
            if owner_id in present:
                ConcurrencyLimit.objects.filter(id=limit_id).update(owner_id=owner_id)


def fields_of(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in {"id", "created"}]


def to_write(model, rows: list, counts: KindCounts) -> list:
    """The rows (model instances with their ids) an import gives, counted as created,
    updated or unchanged against the stored row of the same id, and those to write: the
    new and the changed. A row whose values are those stored is left alone (its
    `updated` does not move), as an unchanged deployment is. The last of one id wins."""
    rows = list({row.id: row for row in rows}.values())
    compared = [name for name in fields_of(model) if name != "updated"]
    stored = {
        values["id"]: values
        for values in model.objects.filter(id__in=[row.id for row in rows]).values("id", *compared)
    }
    changed = []
    for row in rows:
        before = stored.get(row.id)
        if before is None:
            counts.count("create")
        elif any(before[name] != getattr(row, name) for name in compared):
            counts.count("update")
        else:
            counts.count("unchanged")
            continue
        changed.append(row)
    return changed


def refuse_reserved_names(new_pools: list[tuple[Record, str, str]]) -> None:
    """A new pool may not take a name Prefect reserves; pools already here keep theirs.
    Each entry: the record that names the pool, where in it, and the name."""
    problems = [
        f"{record.where(where)}: {problem.message}"
        for record, where, name in new_pools
        for problem in pool_problems({"name": name})
    ]
    if problems:
        raise ImportFailed(problems)
