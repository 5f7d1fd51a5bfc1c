"""What the fleet calendar reads: the schedule definitions that count, grouped in SQL;
their run minutes, expanded once per window and kept in `CalendarExpansion`; and the
deployments with a run in a slot.

Only active schedules of unpaused deployments count. The cost of a page does not grow
with the number of schedules: the database groups them by definition (an interval's anchor
reduced to its phase, see `fleet_calendar`), and Python expands each distinct definition
once, or reads it from the table another request filled.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import BigIntegerField, Case, Expression, F, QuerySet, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import (
    CalendarExpansion,
    DefinitionCount,
    Deployment,
    DeploymentSchedule,
    PendingChange,
    Version,
)
from catalog.models.definition_counts import SUMMED, compact_definition_counts, phase_sql
from catalog.rules import fleet_calendar
from catalog.rules.fleet_calendar import Definition, Window
from catalog.rules.schedule_budget import ScheduleBudgetExceeded, page_budget

# Expansions stored this long ago are deleted when new ones are stored.
KEPT_FOR = timedelta(days=7)
# A definition's columns as grouped, the zone last (`DefinitionCount` keeps the same).
GROUP_FIELDS = (*DefinitionCount.DEFINITION_FIELDS[:-1], "group_zone")
ROW_FIELDS = ("kind", "interval", "phase", "anchor_date", "cron", "day_or", "rrule", "timezone")


@dataclass(frozen=True)
class Filters:
    flow: str = ""
    work_pool: str = ""
    work_queue: str = ""
    tags: tuple[str, ...] = ()


def counted_schedules(filters: Filters) -> QuerySet:
    """Active schedules of unpaused deployments that pass the filters (any of the tags)."""
    lookups = {"active": True, "deployment__paused": False}
    if filters.flow:
        lookups["deployment__flow__name"] = filters.flow
    if filters.work_pool:
        lookups["deployment__work_queue__work_pool__name"] = filters.work_pool
    if filters.work_queue:
        lookups["deployment__work_queue__name"] = filters.work_queue
    if filters.tags:
        lookups["deployment__tags__has_any_tags"] = list(filters.tags)
    return DeploymentSchedule.objects.filter(**lookups)


# The phase of an interval's anchor, in SQL --------------------------------------------


class IntervalPhase(Expression):
    """`fleet_calendar.interval_phase` of a schedule row, or NULL when its interval does
    not add elapsed time only (`fleet_calendar.adds_elapsed_time`)."""

    output_field = BigIntegerField()

    def __init__(self) -> None:
        super().__init__()
        self.columns = [F("kind"), F("interval"), F("timezone"), F("anchor_date")]

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, expressions):
        self.columns = list(expressions)

    def as_sql(self, compiler, connection):
        kind, interval, zone, anchor = (compiler.compile(column)[0] for column in self.columns)
        sql = phase_sql(connection.vendor, kind, interval, zone, anchor)
        # Doubled: the database adapters read a lone "%" as a parameter's place.
        return sql.replace("%", "%%"), []


def with_phase(schedules: QuerySet) -> QuerySet:
    return schedules.annotate(phase=IntervalPhase())


# Definitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    definition: Definition
    schedules: int


_GROUPED = """SELECT kind, "interval", phase, CASE WHEN phase IS NULL THEN anchor_date END,
cron, day_or, rrule, timezone, COUNT(*)
FROM ({counted} {fence}) counted GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 9 DESC LIMIT %s"""


def changes_stamp() -> int | None:
    """Moves with every change to deployments, schedules, flows, work pools or queues
    made through the write core, whoever asked (the history triggers mark each change and
    the write core records it as a new version): the newest version. None while a write
    made outside the doors is still only marked (it is recorded at the next door's write),
    when nothing can be trusted to be unchanged."""
    sql = f"SELECT (SELECT MAX(id) FROM {_VERSIONS}), EXISTS (SELECT 1 FROM {_PENDING})"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        newest, pending = cursor.fetchone()
    return None if pending else newest or 0


_VERSIONS = Version._meta.db_table
_PENDING = PendingChange._meta.db_table


def stored_definition_groups(filters: Filters, most: int) -> list[Group]:
    """`definition_groups`: unfiltered, from the counts the triggers keep
    (`DefinitionCount`); filtered, kept in `CalendarExpansion` until anything changes."""
    if filters == Filters():
        return counted_definition_groups(most)
    stamp = changes_stamp()
    if stamp is None:
        return definition_groups(filters, most)
    key = _digest(f"groups\x1e{filters}\x1e{most}\x1e{stamp}")
    stored = CalendarExpansion.objects.filter(key=key).values_list("minutes", flat=True).first()
    if stored is not None:
        return [_group_from_json(item) for item in json.loads(bytes(stored))]
    groups = definition_groups(filters, most)
    data = json.dumps([_group_to_json(group) for group in groups]).encode()
    _store([CalendarExpansion(key=key, minutes=data)])
    return groups


# The changes' rows the counts may pile up, past one a definition, before a read sums
# them (an import sums its own at its end).
COMPACT_ABOVE_ROWS = 1000


def counted_definition_groups(most: int) -> list[Group]:
    """The definitions of every counted schedule, most shared first, at most `most + 1`,
    as the triggers keep them: a few rows, however many schedules share them. When
    changes have piled up rows, they are summed for the next read."""
    with connection.cursor() as cursor:
        cursor.execute(SUMMED, [most + 1])
        rows = cursor.fetchall()
    if rows and rows[0][9] > rows[0][10] + COMPACT_ABOVE_ROWS:
        compact_definition_counts()
    return [
        Group(definition_of_row(dict(zip(GROUP_FIELDS, row[:8], strict=True))), row[8])
        for row in rows
    ]


def _group_to_json(group: Group) -> list:
    d = group.definition
    anchor = d.anchor.isoformat() if d.anchor else None
    return [d.kind, d.interval, anchor, d.cron, d.day_or, d.rrule, d.timezone, group.schedules]


def _group_from_json(item: list) -> Group:
    kind, interval, anchor, cron, day_or, rrule, zone, schedules = item
    anchor = datetime.fromisoformat(anchor) if anchor else None
    return Group(Definition(kind, interval, anchor, cron, day_or, rrule, zone), schedules)


def definition_groups(filters: Filters, most: int) -> list[Group]:
    """The distinct definitions of the counted schedules, most shared first, at most
    `most + 1` of them (one more says that some were left out), in one query. The phase
    is computed once a row in a subquery (fenced, see `_FENCE`), which groups three
    times as fast as repeating it."""
    counted = with_phase(counted_schedules(filters)).values(*ROW_FIELDS).order_by()
    sql, params = counted.query.sql_with_params()
    with connection.cursor() as cursor:
        grouped = _GROUPED.format(counted=sql, fence=_FENCE[connection.vendor])
        cursor.execute(grouped, [*params, most + 1])
        rows = cursor.fetchall()
    return [
        Group(definition_of_row(dict(zip(GROUP_FIELDS, row[:8], strict=True))), row[8])
        for row in rows
    ]


def definition_of_row(row: dict) -> Definition:
    if row["phase"] is not None:
        return fleet_calendar.interval_definition(row["interval"], row["phase"], row["group_zone"])
    return Definition(
        row["kind"],
        row["interval"],
        _aware(row["group_anchor"]),
        row["cron"],
        bool(row["day_or"]),
        row["rrule"],
        row["group_zone"],
    )


def _aware(anchor: datetime | str | None) -> datetime | None:
    """A raw cursor's timestamp: SQLite's is text in UTC."""
    if isinstance(anchor, str):
        anchor = parse_datetime(anchor)
    if anchor is not None and anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=UTC)
    return anchor


# Expansions, computed once a window ----------------------------------------------------


@dataclass
class Expansions:
    """Each definition's minutes in the window; those too costly, and those the page's
    budget ran out before."""

    minutes: dict[Definition, object] = field(default_factory=dict)
    too_costly: list[Group] = field(default_factory=list)
    out_of_page_budget: list[Group] = field(default_factory=list)
    computed: int = 0


def cache_key(definition: Definition, window: Window) -> str:
    return _digest(f"{definition.cache_text()}\x1e{window.cache_text()}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def expansions_of(
    groups: Iterable[Group], window: Window, schedule_budget: int, page_steps: int, setting: str
) -> Expansions:
    """The stored expansions in one query; the others computed within the budgets and
    stored (too costly ones as such), except those the page's budget stopped."""
    keyed = {cache_key(group.definition, window): group for group in groups}
    stored = dict(CalendarExpansion.objects.filter(key__in=keyed).values_list("key", "minutes"))
    found, new_rows = Expansions(), []
    with page_budget(page_steps, setting) as page:
        for key, group in keyed.items():
            if key in stored:
                _take(found, group, stored[key])
                continue
            data = _expanded(group.definition, window, schedule_budget, page)
            if data is _OUT_OF_PAGE_BUDGET:
                found.out_of_page_budget.append(group)
                continue
            found.computed += 1
            new_rows.append(CalendarExpansion(key=key, minutes=data))
            _take(found, group, data)
    if new_rows:
        _store(new_rows)
    return found


_OUT_OF_PAGE_BUDGET = object()


def _expanded(definition: Definition, window: Window, budget: int, page):
    if page.spent > page.limit:
        return _OUT_OF_PAGE_BUDGET
    try:
        minutes = fleet_calendar.window_minutes(definition.schedule(), window, budget)
    except ScheduleBudgetExceeded:
        return _OUT_OF_PAGE_BUDGET if page.spent > page.limit else None
    return fleet_calendar.packed(minutes)


def _take(found: Expansions, group: Group, data) -> None:
    if data is None:
        found.too_costly.append(group)
    else:
        found.minutes[group.definition] = fleet_calendar.unpacked(bytes(data))


def _store(rows: list[CalendarExpansion]) -> None:
    CalendarExpansion.objects.filter(stored__lt=timezone.now() - KEPT_FOR).delete()
    CalendarExpansion.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)


# Drilling down -------------------------------------------------------------------------------


def definitions_firing(expansions: Expansions, start: int, end: int) -> list[Definition]:
    return [
        definition
        for definition, minutes in expansions.minutes.items()
        if fleet_calendar.fires_between(minutes, start, end)
    ]


# A deployment fires when one of its counted schedules has a firing definition. Written as
# EXISTS over its own schedules (the unique (deployment, slug) index finds them), fenced so
# that the database cannot turn it into a join over every counted schedule: it walks the
# deployments in name order and stops at the page's end (or the count's limit), so a busy
# slot costs the same at any size. A slot few deployments fire in is walked to the end:
# its cost grows with the catalog, as it did when every schedule's phase was computed.
_FIRING = "EXISTS (SELECT 1 FROM ({counted} {fence}) counted WHERE {conditions})"
_FIRING_COUNT = "SELECT COUNT(*) FROM (SELECT 1 FROM {deployments} d WHERE {firing} LIMIT %s) f"
_FIRING_PAGE = """SELECT d.id FROM {deployments} d WHERE {firing}
ORDER BY d.name, d.id LIMIT %s OFFSET %s"""
# Keeps the database from folding the subquery into the outer one, which would compute
# the phase again for each comparison.
_FENCE = {"postgresql": "OFFSET 0", "sqlite": "LIMIT -1 OFFSET 0"}
_PHASE_KEY = {
    "postgresql": "(\"interval\"::bigint || ':' || phase || ':' || COALESCE(timezone, ''))",
    "sqlite": "(CAST(\"interval\" AS INTEGER) || ':' || phase || ':' || COALESCE(timezone, ''))",
}
# Row values compared with IN, a list a kind of definition; a zone of NULL and of "" fire
# alike, so they are compared as "". Phases, the many, as one text a row (a hashed list).
_MATCHES = {
    "phase": ("phase IS NOT NULL AND {phase_key}", 1),
    "interval": ("phase IS NULL AND kind = 'interval' AND (\"interval\", anchor_date, {zone})", 3),
    "cron": ("kind = 'cron' AND (cron, day_or, {zone})", 3),
    "rrule": ("kind = 'rrule' AND (rrule, {zone})", 2),
}
# A slot's deployments are counted up to this many; past it the page says "more than".
SLOT_EXACT_LIMIT = 1_000


class FiringDeployments:
    """Deployments with a counted schedule of one of some definitions, by name, as a
    `Paginator` reads them: their number, counted up to SLOT_EXACT_LIMIT + 1 (`capped`
    when there are more), and a page of their rows. Each costs what the deployments it
    reads cost, not what the catalog's schedules do."""

    def __init__(self, filters: Filters, definitions: list[Definition]) -> None:
        of_each = counted_schedules(filters).filter(deployment_id=RawSQL("d.id", []))
        counted = with_phase(of_each).values(*ROW_FIELDS)
        sql, params = counted.order_by().query.sql_with_params()
        conditions, values = _firing_conditions(definitions)
        where = " OR ".join(conditions) or "1 = 0"
        fence = _FENCE[connection.vendor]
        self.firing = _FIRING.format(counted=sql, fence=fence, conditions=where)
        self.params = [*params, *values]
        self.capped = False
        self._total: int | None = None

    def count(self) -> int:
        if self._total is None:
            sql = _FIRING_COUNT.format(deployments=_DEPLOYMENTS, firing=self.firing)
            total = _fetch(sql, [*self.params, SLOT_EXACT_LIMIT + 1])[0][0]
            self.capped = total > SLOT_EXACT_LIMIT
            self._total = total
        return self._total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, rows: slice) -> list[Deployment]:
        sql = _FIRING_PAGE.format(deployments=_DEPLOYMENTS, firing=self.firing)
        limits = [rows.stop - rows.start, rows.start]
        ids = [_uuid(row[0]) for row in _fetch(sql, [*self.params, *limits])]
        listed = (
            Deployment.objects.filter(id__in=ids)
            .select_related("flow", "work_queue__work_pool")
            .only("name", "tags", "flow__name", "work_queue__name", "work_queue__work_pool__name")
            .in_bulk()
        )
        return [listed[deployment_id] for deployment_id in ids]


_DEPLOYMENTS = Deployment._meta.db_table


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _uuid(value) -> uuid.UUID:
    """A raw cursor's id: SQLite's is hex text."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _firing_conditions(definitions: list[Definition]) -> tuple[list[str], list]:
    rows: dict[str, list[tuple]] = {kind: [] for kind in _MATCHES}
    for d in definitions:
        zone = d.timezone or ""
        if d.kind == "interval" and fleet_calendar.adds_elapsed_time(d.interval, d.timezone):
            phase = fleet_calendar.interval_phase(d.interval, d.anchor)
            rows["phase"].append((f"{int(d.interval)}:{phase}:{zone}",))
        elif d.kind == "interval":
            anchor = connection.ops.adapt_datetimefield_value(d.anchor)
            rows["interval"].append((d.interval, anchor, zone))
        elif d.kind == "cron":
            rows["cron"].append((d.cron, d.day_or, zone))
        else:
            rows["rrule"].append((d.rrule, zone))
    conditions, values = [], []
    for kind, found in rows.items():
        if not found:
            continue
        columns, width = _MATCHES[kind]
        places = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(found))
        zone, key = "COALESCE(timezone, '')", _PHASE_KEY[connection.vendor]
        conditions.append(f"({columns.format(zone=zone, phase_key=key)} IN ({places}))")
        values.extend(value for row in found for value in row)
    return conditions, values


def runs_by_deployment(
    filters: Filters, deployments: list[Deployment], expansions: Expansions, start: int, end: int
) -> dict:
    """Each listed deployment's counted runs in minutes [start, end), in one query."""
    rows = (
        with_phase(counted_schedules(filters))
        .filter(deployment__in=deployments)
        .annotate(
            group_anchor=Case(When(phase__isnull=True, then=F("anchor_date"))),
            group_zone=F("timezone"),
        )
        .values("deployment_id", *GROUP_FIELDS)
    )
    runs: dict = {deployment.pk: 0 for deployment in deployments}
    for row in rows:
        minutes = expansions.minutes.get(definition_of_row(row), ())
        runs[row["deployment_id"]] += sum(1 for minute in minutes if start <= minute < end)
    return runs
