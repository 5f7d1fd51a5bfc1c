"""Triggers that mark, in `PendingChange`, every object a write touches, whoever writes:
ORM saves, queryset updates, cascades, the importer's COPY, raw SQL.

Only configuration counts: an update that moves nothing but runtime columns (a worker's
poll setting `status` and `last_polled`, `updated`, the importer's fingerprint) marks
nothing. A schedule's change marks its deployment; a deployment's own concurrency limit
(`deployment:<id>`) marks its deployment as well as itself. A delete keeps the name, and
a deployment's flow, of what it deleted, since the row is gone when the marks are read.
"""

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connections

from catalog.models.deployments import Deployment
from catalog.models.flows import Flow
from catalog.models.history import ObjectType, PendingChange
from catalog.models.limits import ConcurrencyLimit
from catalog.models.schedules import DeploymentSchedule
from catalog.models.triggers import create_triggers, postgres_statement_trigger
from catalog.models.variables import Variable
from catalog.models.work_pools import WorkPool, WorkQueue

PENDING = PendingChange._meta.db_table
INSERT_MARK = f"INSERT INTO {PENDING} (object_type, object_id, name, flow_id)"


@dataclass(frozen=True)
class Watched:
    """A table whose writes mark objects: `marks` are (object type, column with the id)."""

    model: type
    marks: tuple[tuple[str, str], ...]
    runtime: frozenset[str] = frozenset({"updated"})
    # Columns a delete keeps: the deleted row's name, and a deployment's flow.
    kept_on_delete: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def configuration_columns(self) -> list[str]:
        """Quoted: some are SQL keywords (`limit`)."""
        return [
            f'"{f.column}"'
            for f in self.model._meta.concrete_fields
            if f.column not in self.runtime
        ]


WATCHED = [
    Watched(
        Deployment,
        ((ObjectType.DEPLOYMENT, "id"),),
        frozenset(
            {"updated", "last_polled", "status", "import_fingerprint", "created_by", "updated_by"}
        ),
        {"name": "name", "flow_id": "flow_id"},
    ),
    Watched(
        DeploymentSchedule,
        ((ObjectType.DEPLOYMENT, "deployment_id"),),
        frozenset({"updated", "created"}),
    ),
    Watched(Flow, ((ObjectType.FLOW, "id"),), kept_on_delete={"name": "name"}),
    Watched(
        WorkPool,
        ((ObjectType.WORK_POOL, "id"),),
        frozenset({"updated", "status"}),
        {"name": "name"},
    ),
    Watched(
        WorkQueue,
        ((ObjectType.WORK_QUEUE, "id"),),
        frozenset({"updated", "last_polled", "status"}),
        {"name": "name"},
    ),
    Watched(
        ConcurrencyLimit,
        ((ObjectType.CONCURRENCY_LIMIT, "id"), (ObjectType.DEPLOYMENT, "owner_id")),
        frozenset({"updated", "active_slots", "denied_slots", "avg_slot_occupancy_seconds"}),
        {"name": "name"},
    ),
    Watched(Variable, ((ObjectType.VARIABLE, "id"),), kept_on_delete={"name": "name"}),
]


def trigger_name(table: str, event: str) -> str:
    return f"{table}_history_on_{event.lower()}"


# PostgreSQL: one statement trigger per table and event, over the transition tables ----


def postgres_history_triggers() -> list[str]:
    statements = []
    for watched in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            actions = [
                postgres_mark(watched, event, kind, column) for kind, column in watched.marks
            ]
            statements.append(postgres_trigger(watched.table, event, "; ".join(actions)))
    return statements


def postgres_mark(watched: Watched, event: str, object_type: str, column: str) -> str:
    if event == "UPDATE":
        columns = watched.configuration_columns()
        new = ", ".join(f"w.{c}" for c in columns)
        old = ", ".join(f"b.{c}" for c in columns)
        source = (
            f"SELECT DISTINCT '{object_type}', w.{column}, NULL::text, NULL::uuid FROM written w "
            f"JOIN before_write b ON b.id = w.id WHERE w.{column} IS NOT NULL "
            f"AND ROW({new}) IS DISTINCT FROM ROW({old})"
        )
        return f"{INSERT_MARK} {source} ON CONFLICT DO NOTHING"
    kept = watched.kept_on_delete if event == "DELETE" and column == "id" else {}
    name = kept.get("name", "NULL::text")
    flow = kept.get("flow_id", "NULL::uuid")
    source = (
        f"SELECT DISTINCT ON ({column}) '{object_type}', {column}, {name}, {flow} "
        f"FROM written WHERE {column} IS NOT NULL"
    )
    conflict = "DO NOTHING"
    if kept:
        conflict = (
            "(object_type, object_id) DO UPDATE "
            "SET name = EXCLUDED.name, flow_id = EXCLUDED.flow_id"
        )
    return f"{INSERT_MARK} {source} ON CONFLICT {conflict}"


def postgres_trigger(table: str, event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(table, event), table, event, action)


# SQLite: row triggers, an update's only when a configuration column moved -------------


def sqlite_history_triggers() -> list[str]:
    statements = []
    for watched in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            row = "OLD" if event == "DELETE" else "NEW"
            actions = [
                sqlite_mark(watched, event, row, kind, column) for kind, column in watched.marks
            ]
            name = trigger_name(watched.table, event)
            when = ""
            if event == "UPDATE":
                moved = " OR ".join(
                    f"OLD.{c} IS NOT NEW.{c}" for c in watched.configuration_columns()
                )
                when = f" WHEN {moved}"
            statements.append(f"DROP TRIGGER IF EXISTS {name}")
            statements.append(
                f"CREATE TRIGGER {name} AFTER {event} ON {watched.table}{when} "
                f"BEGIN {'; '.join(actions)}; END"
            )
    return statements


def sqlite_mark(watched: Watched, event: str, row: str, object_type: str, column: str) -> str:
    kept = watched.kept_on_delete if event == "DELETE" and column == "id" else {}
    name = f"{row}.{kept['name']}" if "name" in kept else "NULL"
    flow = f"{row}.{kept['flow_id']}" if "flow_id" in kept else "NULL"
    verb = "INSERT OR REPLACE" if kept else "INSERT OR IGNORE"
    return (
        f"{verb} INTO {PENDING} (object_type, object_id, name, flow_id) "
        f"SELECT '{object_type}', {row}.{column}, {name}, {flow} WHERE {row}.{column} IS NOT NULL"
    )


def install_history_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers, and removes any mark left between transactions, where
    there should be none. Idempotent; connected to `post_migrate`, which `flush` sends
    too: SQLite's flush deletes the tables in no set order, and a deployment deleted
    after the marks were runs its trigger, leaving a mark behind."""
    if create_triggers(PendingChange, using, postgres_history_triggers, sqlite_history_triggers):
        with connections[using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {PENDING}")
