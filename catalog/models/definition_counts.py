"""How many counted schedules share each schedule definition, kept by database triggers,
so that the fleet calendar's unfiltered week reads a few rows instead of grouping every
schedule of the catalog again after each change.

A counted schedule is an active schedule of an unpaused deployment, the ones the fleet
calendar shows. Schedules are grouped by definition as the calendar groups them
(`catalog.admin.calendar_data`): an interval's anchor is reduced to its phase when the
interval adds elapsed time only (`fleet_calendar.interval_phase`), so that schedules
running at the same minutes share one definition whatever their anchors.

Whatever writes schedules or deployments (the ORM, the importer's COPY, raw SQL), the
triggers add a row for each definition a statement changed, with the schedules it added
(or, negative, took away), in the writing transaction. Rows are only ever added, never
updated: one row a definition, updated by every writer, would make concurrent writers
(an import's long transaction and the API's writes) wait for each other, and deadlock
when they touch two definitions in turn. A definition's count is the sum of its rows;
`compact_definition_counts` sums them into one row each, skipping rows another
transaction holds (an import compacts at its end, the calendar when it finds many).
Migration 0022 counted the schedules stored before it.
"""

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from catalog.models.triggers import (
    create_triggers,
    drop_triggers,
    postgres_statement_trigger,
    sqlite_row_trigger,
)
from catalog.rules import fleet_calendar


class DefinitionCount(models.Model):
    # A definition's columns, which its rows share.
    kind = models.CharField(max_length=8)
    interval = models.FloatField(null=True)
    phase = models.BigIntegerField(null=True)
    group_anchor = models.DateTimeField(null=True)
    cron = models.TextField(null=True)
    day_or = models.BooleanField()
    rrule = models.TextField(null=True)
    timezone = models.TextField(null=True)
    # Schedules added (taken away when negative) by one change, or the sum of several.
    schedules = models.IntegerField()

    # The columns of a definition, in the order of `DEFINITION_COLUMNS`.
    DEFINITION_FIELDS = (
        "kind",
        "interval",
        "phase",
        "group_anchor",
        "cron",
        "day_or",
        "rrule",
        "timezone",
    )

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.schedules:+} {self.kind} schedules"


TABLE = "catalog_definitioncount"
SCHEDULES = "catalog_deploymentschedule"
DEPLOYMENTS = "catalog_deployment"
DEFINITION_COLUMNS = DefinitionCount.DEFINITION_FIELDS

# The phase of an interval's anchor, in SQL --------------------------------------------

_WHOLE_SECONDS = {"postgresql": "{interval}::bigint", "sqlite": "CAST({interval} AS INTEGER)"}
# Whole units (minutes, or seconds) since 1970, rounded down.
_EPOCH_UNITS = {
    "postgresql": "FLOOR(EXTRACT(EPOCH FROM {anchor}) / {u})::bigint",
    "sqlite": "((CAST(strftime('%s', {anchor}) AS INTEGER) - "
    "(((CAST(strftime('%s', {anchor}) AS INTEGER) % {u}) + {u}) % {u})) / {u})",
}
_PHASE = """CASE WHEN {kind} = 'interval' AND {interval} = {i}
  AND ({interval} < 86400 OR COALESCE({zone}, '') IN ({zones}))
THEN ((({units}) % ({i} / {u})) + ({i} / {u})) % ({i} / {u})
END"""


def phase_sql(vendor: str, kind: str, interval: str, zone: str, anchor: str) -> str:
    """`fleet_calendar.interval_phase` of a schedule's columns (SQL expressions), or NULL
    when its interval does not add elapsed time only (`fleet_calendar.adds_elapsed_time`)."""
    whole = _WHOLE_SECONDS[vendor].format(interval=interval)
    unit = f"(CASE WHEN {whole} % 60 = 0 THEN 60 ELSE 1 END)"
    zones = ", ".join(f"'{name}'" for name in fleet_calendar.ELAPSED_TIME_ZONES)
    units = _EPOCH_UNITS[vendor].format(anchor=anchor, u=unit)
    return _PHASE.format(
        kind=kind, interval=interval, zone=zone, i=whole, u=unit, units=units, zones=zones
    )


# The counts' changes, for any set of schedule rows ----------------------------------

ROW_COLUMNS = ("kind", "interval", "anchor_date", "cron", "day_or", "rrule", "timezone")


def quoted(columns, prefix: str = "") -> str:
    return ", ".join(f'{prefix}"{column}"' for column in columns)


def counted_insert(vendor: str, rows: str, sign: int) -> str:
    """A row a definition of the schedules of `rows` (a FROM clause whose rows are
    aliased `s`, with its WHERE), counting `sign` x its schedules."""
    phase = phase_sql(vendor, "s.kind", 's."interval"', "s.timezone", "s.anchor_date")
    grouped = (
        'SELECT p.kind, p."interval", p.phase, '
        "CASE WHEN p.phase IS NULL THEN p.anchor_date END AS group_anchor, "
        f"p.cron, p.day_or, p.rrule, p.timezone, {sign} * COUNT(*) AS schedules "
        f"FROM (SELECT {quoted(ROW_COLUMNS, 's.')}, {phase} AS phase FROM {rows}) p "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
    )
    return f"INSERT INTO {TABLE} ({quoted(DEFINITION_COLUMNS)}, schedules) {grouped}"


def counted_change(vendor: str, *changes: tuple[str, int]) -> str:
    """The inserts of (rows, sign), in turn."""
    return "; ".join(counted_insert(vendor, rows, sign) for rows, sign in changes)


# The triggers ---------------------------------------------------------------------------

_UNPAUSED = f"EXISTS (SELECT 1 FROM {DEPLOYMENTS} d WHERE d.id = s.deployment_id AND NOT d.paused)"


def counted_rows(source: str) -> str:
    return f"{source} s WHERE s.active AND {_UNPAUSED}"


def postgres_definition_triggers() -> list[str]:
    def of_deployments(selected: str) -> str:
        return f"{SCHEDULES} s WHERE s.active AND s.deployment_id IN ({selected})"

    def change(*changes) -> str:
        return counted_change("postgresql", *changes)

    moved = "SELECT w.id FROM written w JOIN before_write b ON b.id = w.id WHERE "
    resumed = of_deployments(f"{moved}b.paused AND NOT w.paused")
    paused = of_deployments(f"{moved}w.paused AND NOT b.paused")
    unpaused = of_deployments("SELECT id FROM written WHERE NOT paused")
    return [
        postgres_trigger(SCHEDULES, "INSERT", change((counted_rows("written"), 1))),
        postgres_trigger(SCHEDULES, "DELETE", change((counted_rows("written"), -1))),
        postgres_trigger(
            SCHEDULES,
            "UPDATE",
            change((counted_rows("before_write"), -1), (counted_rows("written"), 1)),
        ),
        postgres_trigger(DEPLOYMENTS, "INSERT", change((unpaused, 1))),
        postgres_trigger(DEPLOYMENTS, "DELETE", change((unpaused, -1))),
        postgres_trigger(DEPLOYMENTS, "UPDATE", change((resumed, 1), (paused, -1))),
    ]


def postgres_trigger(table: str, event: str, action: str) -> str:
    return postgres_statement_trigger(trigger_name(table, event), table, event, action)


def sqlite_definition_triggers() -> list[str]:
    def row(which: str) -> str:
        columns = ("deployment_id", "active", *ROW_COLUMNS)
        selected = ", ".join(f'{which}."{column}" AS "{column}"' for column in columns)
        return counted_rows(f"(SELECT {selected})")

    def of_deployment(condition: str) -> str:
        return f"{SCHEDULES} s WHERE s.active AND s.deployment_id = {condition}"

    def change(*changes) -> str:
        return counted_change("sqlite", *changes)

    resumed = of_deployment("NEW.id AND OLD.paused AND NOT NEW.paused")
    paused = of_deployment("OLD.id AND NEW.paused AND NOT OLD.paused")
    return [
        *sqlite_trigger(SCHEDULES, "INSERT", change((row("NEW"), 1))),
        *sqlite_trigger(SCHEDULES, "DELETE", change((row("OLD"), -1))),
        *sqlite_trigger(SCHEDULES, "UPDATE", change((row("OLD"), -1), (row("NEW"), 1))),
        *sqlite_trigger(
            DEPLOYMENTS, "INSERT", change((of_deployment("NEW.id AND NOT NEW.paused"), 1))
        ),
        *sqlite_trigger(
            DEPLOYMENTS, "DELETE", change((of_deployment("OLD.id AND NOT OLD.paused"), -1))
        ),
        *sqlite_trigger(DEPLOYMENTS, "UPDATE", change((resumed, 1), (paused, -1))),
    ]


def sqlite_trigger(table: str, event: str, action: str) -> list[str]:
    return sqlite_row_trigger(trigger_name(table, event), table, event, action)


def trigger_name(table: str, event: str) -> str:
    return f"{table}_definitions_on_{event.lower()}"


def install_definition_triggers(using: str = DEFAULT_DB_ALIAS, **_) -> None:
    """(Re)creates the triggers, and empties the counts of a catalog with no schedule.
    Idempotent; connected to `post_migrate`, which `flush` sends too: SQLite's flush
    deletes the tables in no set order, and a schedule deleted after the counts were
    runs its trigger, leaving a count of minus one behind."""
    if create_triggers(
        DefinitionCount, using, postgres_definition_triggers, sqlite_definition_triggers
    ):
        with connections[using].cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE NOT EXISTS (SELECT 1 FROM {SCHEDULES})")


def drop_definition_triggers(connection) -> None:
    """Undoes `install_definition_triggers` (migration 0022, when it is reversed)."""
    tables_events = [
        (table, event)
        for table in (SCHEDULES, DEPLOYMENTS)
        for event in ("INSERT", "UPDATE", "DELETE")
    ]
    drop_triggers(
        connection, [(trigger_name(table, event), table) for table, event in tables_events]
    )


def count_every_definition(connection) -> None:
    """Counts every stored schedule afresh (migration 0022; tests check the triggers
    against it)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(counted_insert(connection.vendor, counted_rows(SCHEDULES), 1))


_GROUP = quoted(DEFINITION_COLUMNS)
# Each definition's count, most schedules first, with the rows summed and the number of
# definitions (a read can tell when changes have piled up rows). Parameter: the limit.
SUMMED = (
    f"SELECT {_GROUP}, SUM(schedules), SUM(COUNT(*)) OVER (), COUNT(*) OVER () "
    f"FROM {TABLE} GROUP BY {_GROUP} HAVING SUM(schedules) > 0 "
    "ORDER BY 9 DESC, 1, 2, 3, 4, 5, 6, 7, 8 LIMIT %s"
)
_SUMS = (
    f"SELECT {_GROUP}, SUM(schedules) FROM {{rows}} GROUP BY {_GROUP} HAVING SUM(schedules) <> 0"
)
_COLUMNS = f"{_GROUP}, schedules"
# The rows of the definitions with more than one (GROUP BY and PARTITION BY take NULLs
# as equal): only theirs are summed, so that a write that changed no count (an import of
# what is stored) leaves the table as it was.
_PILED = (
    f"SELECT id FROM (SELECT id, COUNT(*) OVER (PARTITION BY {_GROUP}) AS shared "
    f"FROM {TABLE}) rows_of_one_definition WHERE shared > 1"
)
# One statement: the piled rows no other transaction holds are deleted, their sums written.
_POSTGRES_COMPACTION = (
    f"WITH gone AS (DELETE FROM {TABLE} WHERE id IN "
    f"(SELECT id FROM {TABLE} WHERE id IN ({_PILED}) FOR UPDATE SKIP LOCKED) "
    f"RETURNING {_COLUMNS}) "
    f"INSERT INTO {TABLE} ({_COLUMNS}) {_SUMS.format(rows='gone')}"
)


def compact_definition_counts(using: str = DEFAULT_DB_ALIAS) -> None:
    """Each definition's rows summed into one (a definition whose rows sum to 0 goes);
    a definition with one row is left as it is."""
    connection = transaction.get_connection(using)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_POSTGRES_COMPACTION)
            return
        # SQLite: a single writer at a time, so nothing else holds these rows.
        cursor.execute(f"SELECT MAX(id) FROM {TABLE}")
        newest = cursor.fetchone()[0]
        if newest is None:
            return
        piled = f"id <= {int(newest)} AND id IN ({_PILED})"
        older = f"(SELECT * FROM {TABLE} WHERE {piled})"
        cursor.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) {_SUMS.format(rows=older)}")
        cursor.execute(f"DELETE FROM {TABLE} WHERE {piled}")
