"""Run times of a schedule (`next_runs`), within a step budget (`schedule_budget.py`), and
the budget every new or changed schedule must fit (`check_runs_affordable`). Cron and rrule
times are wall-clock times in the schedule's zone; see `schedules.py` for the rules."""

import copy
import zoneinfo
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import dateutil.rrule
from croniter.croniter import CroniterBadDateError

from catalog.rules.schedule_budget import (
    DEFAULT_HORIZON_YEARS,
    DEFAULT_STEP_BUDGET,
    HORIZON_SETTING,
    MeteredCroniter,
    PastHorizon,
    ScheduleBudgetExceeded,
    StepMeter,
    as_meter,
    metered_occurrences,
    page_meter,
    started_near,
)
from catalog.rules.schedules import (
    CRON_REFERENCE,
    DEFAULT_RRULE_ANCHOR,
    MAX_ITERATIONS,
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
    ScheduleError,
    resolve_wall_time,
    zone,
)


def next_runs(
    schedule: Schedule, after: datetime, n: int, budget: int | StepMeter = DEFAULT_STEP_BUDGET
) -> list[datetime]:
    """The first `n` run times at or after `after`, in the schedule's timezone.

    Raises `ScheduleBudgetExceeded` when finding them takes more than `budget` steps
    (a number, or a `StepMeter` shared by several calls)."""
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    meter = as_meter(budget)
    runs: list[datetime] = []
    for run in _candidates(schedule, after, meter):
        # Compared with `after` as instants, but with each other as Prefect 3.9.1's server
        # does: two times in one zone are equal when their wall-clock times are, so the
        # second run of an hour that DST repeats is dropped as a duplicate of the first
        # (tests/test_schedules.py pins what its server computes).
        if run.astimezone(UTC) >= after and run not in runs:
            runs.append(run)
        if len(runs) >= n:
            break
    return runs


def _candidates(schedule: Schedule, after: datetime, meter: StepMeter) -> Iterator[datetime]:
    if isinstance(schedule, IntervalSchedule):
        candidates = _interval_runs(schedule, after)
    elif isinstance(schedule, CronSchedule):
        candidates = _cron_runs(schedule, after, meter)
    else:
        candidates = _rrule_runs(schedule, after, meter)
    for _, run in zip(range(MAX_ITERATIONS + 1), candidates, strict=False):
        meter.charge()
        if meter.horizon is not None and run > meter.horizon:
            meter.reached_horizon = True
            return
        yield run


def _interval_runs(schedule: IntervalSchedule, after: datetime) -> Iterator[datetime]:
    """Whole days are added on the local calendar, so a daily run keeps its wall-clock
    time across DST; the rest of the interval is added as elapsed time."""
    tz = zone(schedule.timezone)
    days, seconds = divmod(schedule.interval, 86400)
    step = _interval_step(tz, int(days), seconds)
    anchor = schedule.anchor_date.astimezone(tz)
    # In UTC: two times in one zone subtract as wall-clock times, an hour off across DST.
    elapsed = after.astimezone(UTC) - anchor.astimezone(UTC)
    periods = int(elapsed.total_seconds() // schedule.interval)
    current = (anchor.astimezone(UTC) + timedelta(seconds=schedule.interval * periods)).astimezone(
        tz
    )
    while current.astimezone(UTC) < after:
        current = step(current)
    while True:
        yield current
        current = step(current)


def _interval_step(tz: zoneinfo.ZoneInfo, days: int, seconds: float):
    def step(moment: datetime) -> datetime:
        if days:
            moment = resolve_wall_time(moment.replace(tzinfo=None) + timedelta(days=days), tz)
        return (moment.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(tz)

    return step


def _cron_runs(schedule: CronSchedule, after: datetime, meter: StepMeter) -> Iterator[datetime]:
    """Cron matches wall-clock times in the schedule's zone (a 09:00 job stays at 09:00)."""
    tz = zone(schedule.timezone)
    start = after.astimezone(tz).replace(tzinfo=None)
    start = start - timedelta(seconds=1)
    if start.microsecond:
        start = start.replace(microsecond=0) + timedelta(seconds=1)
    iterator = copy.copy(cron_template(schedule.cron, schedule.day_or))
    iterator.meter = meter
    iterator.set_current(start, force=True)
    while True:
        try:
            naive = iterator.get_next(datetime)
        except CroniterBadDateError:
            return
        yield resolve_wall_time(naive, tz)


@lru_cache(maxsize=4096)
def cron_template(expression: str, day_or: bool) -> MeteredCroniter:
    """A parsed expression to copy: parsing costs more than finding the next run."""
    return MeteredCroniter(expression, CRON_REFERENCE, day_or=day_or)


def _rrule_runs(schedule: RRuleSchedule, after: datetime, meter: StepMeter) -> Iterator[datetime]:
    tz = zone(schedule.timezone)
    rule = started_near(localized_rrule(schedule.rrule, tz), after.astimezone(tz))
    try:
        for occurrence in metered_occurrences(rule, meter, meter.last_day(tz)):
            if occurrence >= after:
                yield occurrence.astimezone(tz)
    except PastHorizon:
        meter.reached_horizon = True


@lru_cache(maxsize=4096)
def localized_rrule(text: str, tz: zoneinfo.ZoneInfo):
    """Parse an rrule and read its DTSTART, UNTIL and dates as wall-clock times in `tz`.
    Cached parsed, never iterated: dateutil's own occurrence cache is off, so a cached
    rule holds no walked occurrences."""
    rule = dateutil.rrule.rrulestr(text, dtstart=DEFAULT_RRULE_ANCHOR, cache=False)
    if isinstance(rule, dateutil.rrule.rrule):
        return _localize_rule(rule, tz)
    rule._rrule = [_localize_rule(part, tz) for part in rule._rrule]
    rule._exrule = [_localize_rule(part, tz) for part in rule._exrule]
    rule._rdate = [moment.replace(tzinfo=tz) for moment in rule._rdate]
    rule._exdate = [moment.replace(tzinfo=tz) for moment in rule._exdate]
    return rule


def _localize_rule(rule: dateutil.rrule.rrule, tz: zoneinfo.ZoneInfo) -> dateutil.rrule.rrule:
    changes: dict[str, datetime] = {"dtstart": rule._dtstart.replace(tzinfo=tz)}
    if rule._until:
        changes["until"] = rule._until.replace(tzinfo=tz)
    return rule.replace(**changes)


# Budgets on writes ----------------------------------------------------------------------

# A new schedule's first runs must be found within the budget (the admin shows ten).
RUNS_CHECKED_ON_WRITE = 10
# Why a schedule whose run times Python's calendar cannot hold is refused.
OUT_OF_CALENDAR = "its run times fall outside the years 1 to 9999"


def check_runs_affordable(
    schedule: Schedule,
    now: datetime,
    *,
    budget: int = DEFAULT_STEP_BUDGET,
    horizon_years: int = DEFAULT_HORIZON_YEARS,
) -> list[datetime]:
    """Refuse a schedule whose next runs from `now` take more than `budget` steps to find
    (a COUNT rule walks from its DTSTART), or that has not ended yet fires nothing within
    `horizon_years`. A rule whose COUNT or UNTIL has run out is cheap and passes.
    Answers the runs found: the first `RUNS_CHECKED_ON_WRITE` within the horizon."""
    meter = StepMeter(budget, horizon=_years_after(now, horizon_years), page=page_meter())
    try:
        runs = next_runs(schedule, now, RUNS_CHECKED_ON_WRITE, meter)
    except ScheduleBudgetExceeded as exc:
        raise _too_costly(schedule, exc.message) from None
    except OverflowError:
        raise _too_costly(schedule, OUT_OF_CALENDAR) from None
    if not runs and meter.reached_horizon:
        raise _too_costly(
            schedule, f"it fires no more within {horizon_years:,} years ({HORIZON_SETTING})"
        )
    return runs


def _years_after(moment: datetime, years: int) -> datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment + timedelta(days=365.2425 * years)
    except OverflowError:
        return None


def _too_costly(schedule: Schedule, problem: str) -> ScheduleError:
    if isinstance(schedule, RRuleSchedule):
        return ScheduleError(f'Invalid RRule string "{schedule.rrule}": {problem}', "rrule")
    if isinstance(schedule, CronSchedule):
        return ScheduleError(f'Invalid cron string "{schedule.cron}": {problem}', "cron")
    return ScheduleError(f"Invalid interval: {problem}", "interval")
