"""The fleet calendar's arithmetic: which minutes of a window each schedule definition
fires in, and the heatmap, busiest minutes and slots that many definitions' runs make.

Plain Python, no Django. A window is a run of whole days in one zone (a week or a day),
measured in minutes from its start; a DST day has 23 or 25 hours. Run times come from
`schedule_runs.next_runs`, so they follow the catalog's rules (DST included).

Many schedules share a definition (the same rule in the same zone): the admin groups them
in SQL and expands each definition once. An interval that adds elapsed time only (under a
day, or in UTC) fires at the same minutes for every anchor with the same phase, the
anchor's minute (or second) modulo the interval, so `interval_definition` stands every such
anchor for one.
"""

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from heapq import nlargest
from itertools import pairwise

from catalog.rules.schedule_budget import StepMeter, page_meter
from catalog.rules.schedule_runs import next_runs
from catalog.rules.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
    resolve_wall_time,
    zone,
)

VIEW_DAYS = {"week": 7, "day": 1}
BUSIEST_LISTED = 10
# `next_runs` is asked for runs in batches: each call compares every run it finds with
# the others, so smaller batches cost less per run.
BATCH = 200
# Phases count from here; any fixed moment does.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Zones where an interval of whole days adds elapsed time, as one under a day does.
ELAPSED_TIME_ZONES = ("", "UTC", "Etc/UTC")


@dataclass(frozen=True)
class Definition:
    """A schedule's rule and zone: what its run times depend on and nothing else."""

    kind: str
    interval: float | None = None
    anchor: datetime | None = None
    cron: str | None = None
    day_or: bool = True
    rrule: str | None = None
    timezone: str | None = None

    def schedule(self) -> Schedule:
        if self.kind == "interval":
            return IntervalSchedule(self.interval, self.anchor, self.timezone)
        if self.kind == "cron":
            return CronSchedule(self.cron, self.timezone, self.day_or)
        return RRuleSchedule(self.rrule, self.timezone)

    def label(self) -> str:
        zone_name = self.timezone or "UTC"
        if self.kind == "interval":
            phase = (self.anchor - EPOCH).total_seconds() % self.interval
            return f"every {self.interval:g} s (phase {phase:g} s, {zone_name})"
        if self.kind == "cron":
            day_or = "" if self.day_or else ", day_or off"
            return f"cron {self.cron} ({zone_name}{day_or})"
        return f"rrule {' '.join(self.rrule.split())} ({zone_name})"

    def cache_text(self) -> str:
        anchor = self.anchor.astimezone(UTC).isoformat() if self.anchor else ""
        return (
            "\x1f".join(
                map(str, (self.kind, self.interval, anchor, self.cron, self.day_or, self.rrule))
            )
            + f"\x1f{self.timezone}"
        )


def phase_unit(interval: float) -> int:
    """Seconds a phase counts in: minutes when the interval is whole minutes."""
    return 60 if int(interval) % 60 == 0 else 1


def adds_elapsed_time(interval: float, timezone: str | None) -> bool:
    """Whether an interval's runs are its anchor plus whole intervals of elapsed time (the
    catalog adds whole days on the local calendar, which differs only across DST)."""
    whole = interval == int(interval)
    return whole and (interval < 86400 or (timezone or "") in ELAPSED_TIME_ZONES)


def interval_phase(interval: float, anchor: datetime) -> int:
    """The anchor's phase: its whole minutes (or seconds) since `EPOCH` modulo the
    interval's. Runs of anchors with one phase fall in the same minutes."""
    unit = phase_unit(interval)
    return math.floor((anchor - EPOCH).total_seconds() / unit) % (int(interval) // unit)


def interval_definition(interval: float, phase: int, timezone: str | None) -> Definition:
    """An interval that adds elapsed time, by its phase; its zone stays part of it, since
    the runs of an hour that DST repeats are told apart by their wall-clock times."""
    anchor = EPOCH + timedelta(seconds=phase * phase_unit(interval))
    return Definition("interval", interval=interval, anchor=anchor, timezone=timezone or None)


def definition_of(schedule: Schedule) -> Definition:
    """The definition a schedule counts under (the admin does the same in SQL)."""
    if isinstance(schedule, IntervalSchedule):
        if adds_elapsed_time(schedule.interval, schedule.timezone):
            phase = interval_phase(schedule.interval, schedule.anchor_date)
            return interval_definition(schedule.interval, phase, schedule.timezone)
        anchor = schedule.anchor_date.astimezone(UTC)
        return Definition("interval", schedule.interval, anchor, timezone=schedule.timezone)
    if isinstance(schedule, CronSchedule):
        return Definition(
            "cron", cron=schedule.cron, day_or=schedule.day_or, timezone=schedule.timezone
        )
    return Definition("rrule", rrule=schedule.rrule, timezone=schedule.timezone)


# Windows ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """An hour of a window (shorter when a DST change cuts it): minutes [start, end)."""

    start: int
    end: int
    local_start: datetime
    day: int


@dataclass(frozen=True)
class Window:
    zone_name: str
    first_day: date
    days: int
    start: datetime
    day_starts: tuple[datetime, ...]

    @property
    def end(self) -> datetime:
        return self.day_starts[-1]

    @property
    def minutes(self) -> int:
        return self.minute_of(self.end)

    def minute_of(self, moment: datetime) -> int:
        return int((moment - self.start).total_seconds() // 60)

    def moment(self, minute: int) -> datetime:
        return self.start + timedelta(minutes=minute)

    def local(self, minute: int) -> datetime:
        return self.moment(minute).astimezone(zone(self.zone_name))

    def cache_text(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def slots(self) -> list[Slot]:
        """Every hour of every day, in order; a day of 23 or 25 hours has as many."""
        found = []
        days = zip(self.day_starts, self.day_starts[1:], strict=False)
        for day, (begin, finish) in enumerate(days):
            first, last = self.minute_of(begin), self.minute_of(finish)
            for start in range(first, last, 60):
                found.append(Slot(start, min(start + 60, last), self.local(start), day))
        return found


def local_midnight(day: date, tz_name: str) -> datetime:
    """The first moment of a local day in UTC (a midnight DST skips moves on by the gap)."""
    return resolve_wall_time(datetime.combine(day, time()), zone(tz_name)).astimezone(UTC)


def window_of(first_day: date, days: int, tz_name: str) -> Window:
    starts = tuple(local_midnight(first_day + timedelta(days=n), tz_name) for n in range(days + 1))
    return Window(tz_name, first_day, days, starts[0], starts)


# Expanding a definition -----------------------------------------------------------------


def window_minutes(schedule: Schedule, window: Window, budget: int) -> array:
    """The minute of the window each run in it starts in, earliest first (twice for two
    runs in one minute), found within `budget` steps and the page's budget, else
    `ScheduleBudgetExceeded`."""
    meter = StepMeter(budget, horizon=window.end, page=page_meter())
    if isinstance(schedule, IntervalSchedule) and adds_elapsed_time(
        schedule.interval, schedule.timezone
    ):
        return _elapsed_interval_minutes(schedule, window, meter)
    return minutes_from_next_runs(schedule, window, meter)


def minutes_from_next_runs(schedule: Schedule, window: Window, meter: StepMeter) -> array:
    """`window_minutes` the general way: `next_runs`, a batch at a time. As in one call of
    `next_runs` over the whole window, a run whose wall-clock time an earlier run had (the
    second pass of an hour DST repeats) is a duplicate and is left out."""
    minutes, after, walls = array("I"), window.start, set()
    while True:
        times = next_runs(schedule, after, BATCH, meter)
        for at in times:
            if at >= window.end:
                return minutes
            if at.replace(tzinfo=None) not in walls:
                walls.add(at.replace(tzinfo=None))
                minutes.append(window.minute_of(at))
        if len(times) < BATCH:
            return minutes
        after = times[-1].astimezone(UTC) + timedelta(microseconds=1)


def _elapsed_interval_minutes(
    schedule: IntervalSchedule, window: Window, meter: StepMeter
) -> array:
    """The runs `next_runs` finds for an interval of whole seconds that adds elapsed
    time only: its anchor plus whole intervals, counted here in microseconds (the same
    minutes, tests/test_calendar.py checks; a step a run)."""
    step = int(schedule.interval) * 1_000_000
    start = _microseconds(window.start) - _microseconds(schedule.anchor_date)
    end = _microseconds(window.end) - _microseconds(schedule.anchor_date)
    first = -(-start // step) * step
    meter.charge(max(1, (end - first + step - 1) // step))
    runs = range(first, end, step)
    tz = zone(schedule.timezone)
    if falls_back_within(tz, window):
        runs = _first_of_each_wall_time(runs, schedule.anchor_date, tz)
    return array("I", ((run - start) // 60_000_000 for run in runs))


def falls_back_within(tz, window: Window) -> bool:
    """Whether the zone's clocks go back during the window (checked hour by hour)."""
    hours = int((window.end - window.start).total_seconds() // 3600) + 1
    offsets = [(window.start + timedelta(hours=n)).astimezone(tz).utcoffset() for n in range(hours)]
    return any(later < earlier for earlier, later in pairwise(offsets))


def _first_of_each_wall_time(runs: range, anchor: datetime, tz) -> list[int]:
    """The runs (microseconds after the anchor) whose local wall-clock time no earlier run
    had: `next_runs` drops the rest as duplicates, as Prefect 3.9.1's server does."""
    base, walls, kept = anchor.astimezone(UTC), set(), []
    for run in runs:
        wall = (base + timedelta(microseconds=run)).astimezone(tz).replace(tzinfo=None)
        if wall not in walls:
            walls.add(wall)
            kept.append(run)
    return kept


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def packed(minutes: array) -> bytes:
    return array("I", minutes).tobytes()


def unpacked(data: bytes) -> array:
    minutes = array("I")
    minutes.frombytes(data)
    return minutes


# Counting --------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusyMinute:
    minute: int
    runs: int


@dataclass(frozen=True)
class Tally:
    """Runs a minute of the window over every definition, times its schedules."""

    per_minute: list[int]

    @property
    def runs(self) -> int:
        return sum(self.per_minute)

    def between(self, start: int, end: int) -> int:
        return sum(self.per_minute[start:end])

    def busiest(self, most: int = BUSIEST_LISTED) -> list[BusyMinute]:
        """The busiest minutes, busiest first, then earliest; minutes with no run left out."""
        ranked = nlargest(most, range(len(self.per_minute)), key=self._rank)
        return [BusyMinute(m, self.per_minute[m]) for m in ranked if self.per_minute[m]]

    def _rank(self, minute: int) -> tuple[int, int]:
        return self.per_minute[minute], -minute


def tally(window: Window, expansions: Iterable[tuple[array, int]]) -> Tally:
    """`expansions`: each definition's minutes and how many schedules share it."""
    per_minute = [0] * window.minutes
    for minutes, schedules in expansions:
        for minute in minutes:
            per_minute[minute] += schedules
    return Tally(per_minute)


def fires_between(minutes: array, start: int, end: int) -> bool:
    return any(start <= minute < end for minute in minutes)


def hour_counts(slots: list[Slot], counted: Tally) -> list[int]:
    return [counted.between(slot.start, slot.end) for slot in slots]


@dataclass(frozen=True)
class HeatCell:
    """The slots of a day that start in one local hour: none where DST skips the hour,
    two where it repeats it."""

    hour: int
    slots: tuple[tuple[Slot, int], ...]


def heat_rows(window: Window, slots: list[Slot], counts: list[int]) -> list[list[HeatCell]]:
    """A row a day, a cell a local hour 0-23, each slot with its runs."""
    cells = [[[] for _ in range(24)] for _ in range(window.days)]
    for slot, runs in zip(slots, counts, strict=True):
        cells[slot.day][slot.local_start.hour].append((slot, runs))
    return [[HeatCell(hour, tuple(found)) for hour, found in enumerate(day)] for day in cells]
