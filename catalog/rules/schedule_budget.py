"""A step budget on computing a schedule's run times, so no rule can hold a worker.

dateutil's rrule iterator loops inside itself without yielding: over days a rule's
filters drop (`BYMONTH=2;BYMONTHDAY=30` never fires), over occurrences before DTSTART or
before the moment asked about (a COUNT rule walks from its DTSTART), over occurrences an
EXRULE cancels. A cap on the candidates it yields bounds none of that, so this module
counts the work itself, deterministically (no clock):

- an rrule runs dateutil's own `rrule._iter` code with `_iterinfo`, `divmod` and
  `datetime` swapped in its globals (no global patching): each period charges the days
  it filters (again for each BYSETPOS position it picks among them), each sub-daily
  time set the times it builds, each candidate time it makes one step (those it drops
  before DTSTART too), and each `divmod` one step of its minute and second searches;
  an rruleset runs `rruleset._iter` with its rules metered the same way;
- cron counts croniter's searches for the next matching field (`MeteredCroniter`);
- every occurrence yielded is one step more.

Past its limit a `StepMeter` raises `ScheduleBudgetExceeded`. Pure Python, no Django.
"""

import copy
import datetime
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import dateutil.rrule
from croniter import croniter

# The default number of steps finding a schedule's run times may take; the catalog's
# setting of this name overrides it (config/settings.py).
DEFAULT_STEP_BUDGET = 100_000
BUDGET_SETTING = "CATALOG_SCHEDULE_BUDGET"
PAGE_BUDGET_SETTING = "CATALOG_SCHEDULE_PAGE_BUDGET"
# A schedule that has not ended must fire within this many years from now.
DEFAULT_HORIZON_YEARS = 100
HORIZON_SETTING = "CATALOG_SCHEDULE_HORIZON_YEARS"
# What read paths show for a schedule whose run times the budget cannot find.
TOO_COSTLY = "too costly to compute"

Day = tuple[int, int, int]


class ScheduleBudgetExceeded(Exception):
    """Finding a schedule's run times took more than `budget` steps."""

    def __init__(
        self, budget: int, setting: str = BUDGET_SETTING, subject: str = "its next runs"
    ) -> None:
        self.budget = budget
        self.message = f"finding {subject} takes more than {budget:,} steps ({setting})"
        super().__init__(self.message)


class PastHorizon(Exception):
    """An rrule's iteration reached a period past the meter's horizon."""


class _PastUntil(Exception):
    """An rrule's iteration reached a period that starts after its UNTIL: it has ended,
    although dateutil, which checks UNTIL only on the times it makes, would go on
    filtering days (to year 9999 when its filters drop them all)."""


@dataclass
class StepMeter:
    """The steps spent finding one schedule's run times, and how far it may look.

    `horizon`: an aware datetime; no run is searched past it (None: no limit).
    `reached_horizon`: set when a search stopped there rather than at the end of the rule.
    """

    limit: int = DEFAULT_STEP_BUDGET
    horizon: datetime.datetime | None = None
    spent: int = 0
    reached_horizon: bool = False
    # The page's meter, when the schedule is one of many one page shows (`page_budget`).
    page: "StepMeter | None" = None
    setting: str = BUDGET_SETTING
    subject: str = "its next runs"

    def charge(self, steps: int = 1) -> None:
        self.spent += steps
        if self.spent > self.limit:
            raise ScheduleBudgetExceeded(self.limit, self.setting, self.subject)
        if self.page is not None:
            self.page.charge(steps)

    def divmod(self, a, b):
        self.charge()
        return divmod(a, b)

    def last_day(self, tz: datetime.tzinfo) -> Day | None:
        """The horizon's calendar day in `tz`, as a (year, month, day) tuple."""
        if self.horizon is None:
            return None
        local = self.horizon.astimezone(tz)
        return local.year, local.month, local.day


_page_meter: ContextVar[StepMeter | None] = ContextVar("schedule_page_meter", default=None)


@contextmanager
def page_budget(steps: int, setting: str = PAGE_BUDGET_SETTING) -> Iterator[StepMeter]:
    """Every schedule's run times found inside share `steps` in all, besides each one's
    own budget: a page of many schedules stored before the budget existed (each as
    costly as its budget allows) costs the page's budget, not their sum."""
    subject = "the next runs of all the schedules read or written together"
    token = _page_meter.set(StepMeter(steps, setting=setting, subject=subject))
    try:
        yield _page_meter.get()
    finally:
        _page_meter.reset(token)


def page_meter() -> StepMeter | None:
    """The meter of the page or write under way (`page_budget`), if any."""
    return _page_meter.get()


def as_meter(budget: "int | StepMeter") -> StepMeter:
    if isinstance(budget, StepMeter):
        return budget
    return StepMeter(budget, page=_page_meter.get())


# rrules ---------------------------------------------------------------------------------


class _MeteredIterInfo(dateutil.rrule._iterinfo):
    """dateutil's per-iteration state, charging each period's days to a meter before
    dateutil filters them (once more for each BYSETPOS position it picks among them)."""

    __slots__ = ["day_cost", "last_day", "meter", "until_day"]

    def __init__(self, rule, meter: StepMeter, last_day: Day | None) -> None:
        # dateutil's __init__ clears the attributes of `self.__slots__`, here ours only.
        for name in dateutil.rrule._iterinfo.__slots__:
            setattr(self, name, None)
        self.rrule = rule
        self.meter = meter
        self.last_day = last_day
        self.day_cost = 1 + len(rule._bysetpos or ())
        until = rule._until
        self.until_day = None if until is None else (until.year, until.month, until.day)

    def _period(self, first_day: Day, dayset: tuple) -> tuple:
        if self.last_day is not None and first_day > self.last_day:
            raise PastHorizon
        if self.until_day is not None and first_day > self.until_day:
            raise _PastUntil
        self.meter.charge((dayset[2] - dayset[1]) * self.day_cost)
        return dayset

    def rebuild(self, year, month):
        rule = self.rrule
        self.meter.charge(1 + 7 * len(rule._byweekno or ()) + 12 * len(rule._bynweekday or ()))
        super().rebuild(year, month)

    def ydayset(self, year, month, day):
        return self._period((year, 1, 1), super().ydayset(year, month, day))

    def mdayset(self, year, month, day):
        return self._period((year, month, 1), super().mdayset(year, month, day))

    def wdayset(self, year, month, day):
        return self._period((year, month, day), super().wdayset(year, month, day))

    def ddayset(self, year, month, day):
        return self._period((year, month, day), super().ddayset(year, month, day))

    def _times(self, times):
        self.meter.charge(max(1, len(times)))
        return times

    def htimeset(self, hour, minute, second):
        return self._times(super().htimeset(hour, minute, second))

    def mtimeset(self, hour, minute, second):
        return self._times(super().mtimeset(hour, minute, second))

    def stimeset(self, hour, minute, second):
        return self._times(super().stimeset(hour, minute, second))


class _MeteredRule(dateutil.rrule.rrule):
    """A copy of an rrule whose search for the next BYHOUR, BYMINUTE or BYSECOND value
    at its own frequency (up to `base` tries a call) charges each try to `meter`."""

    meter: StepMeter

    @classmethod
    def copy_of(cls, rule: dateutil.rrule.rrule, meter: StepMeter) -> "_MeteredRule":
        metered = copy.copy(rule)
        metered.__class__ = cls
        metered.meter = meter
        return metered

    def _rrule__mod_distance(self, value, byxxx, base):
        """The fewest steps of the interval from `value` to a value in `byxxx`, as
        (whole bases crossed, value reached); None when no value is ever reached."""
        crossed = 0
        for _ in range(base):
            self.meter.charge()
            carry, value = divmod(value + self._interval, base)
            crossed += carry
            if value in byxxx:
                return crossed, value
        return None


def _with_globals(function: Callable, **replacements) -> Callable:
    """`function`'s code run with some of its module's globals replaced."""
    namespace = {**function.__globals__, **replacements}
    return types.FunctionType(function.__code__, namespace, function.__name__)


def metered_occurrences(
    rule: dateutil.rrule.rrulebase, meter: StepMeter, last_day: Day | None = None
) -> Iterator[datetime.datetime]:
    """The occurrences of an rrule or rruleset from its DTSTART, each step charged to
    `meter`; ends (raising `PastHorizon`) at a period after `last_day`. dateutil's
    occurrence cache is never used, so nothing grows between calls."""
    if isinstance(rule, dateutil.rrule.rruleset):
        member = partial(_member_iterator, meter=meter, last_day=last_day)
        run = _with_globals(dateutil.rrule.rruleset._iter, iter=member)
    else:
        run = _with_globals(
            dateutil.rrule.rrule._iter,
            _iterinfo=partial(_MeteredIterInfo, meter=meter, last_day=last_day),
            divmod=meter.divmod,
            datetime=_metered_datetime_module(meter),
        )
        rule = _MeteredRule.copy_of(rule, meter)
    try:
        for occurrence in run(rule):
            meter.charge()
            yield occurrence
    except _PastUntil:
        return


def _metered_datetime_module(meter: StepMeter) -> types.SimpleNamespace:
    """The parts of the `datetime` module `rrule._iter` uses, charging each candidate
    it makes (those before DTSTART too, which it drops without yielding)."""

    def combine(date: datetime.date, time: datetime.time) -> datetime.datetime:
        meter.charge()
        return datetime.datetime.combine(date, time)

    return types.SimpleNamespace(
        MAXYEAR=datetime.MAXYEAR,
        date=types.SimpleNamespace(fromordinal=datetime.date.fromordinal),
        datetime=types.SimpleNamespace(combine=combine),
    )


def _member_iterator(items, *, meter: StepMeter, last_day: Day | None):
    if isinstance(items, dateutil.rrule.rrulebase):
        return metered_occurrences(items, meter, last_day)
    return iter(items)


# Starting near the moment asked about -------------------------------------------------

SUB_DAILY = {dateutil.rrule.HOURLY: 3600, dateutil.rrule.MINUTELY: 60, dateutil.rrule.SECONDLY: 1}
FIXED_PERIODS = {**SUB_DAILY, dateutil.rrule.DAILY: 86400, dateutil.rrule.WEEKLY: 7 * 86400}
MONTHS_PER_PERIOD = {dateutil.rrule.MONTHLY: 1, dateutil.rrule.YEARLY: 12}


def started_near(rule, moment: datetime.datetime):
    """A rule moved to start a whole number of its periods later, at least one period
    before `moment`: the same occurrences from `moment` on, without walking every period
    since its DTSTART (years of them) on each call. A set moves each of its rules. Rules
    with COUNT (they count from DTSTART) are left alone, and so are daily and coarser
    rules with BYSETPOS (their first, partial period picks other positions)."""
    if isinstance(rule, dateutil.rrule.rruleset):
        return _set_started_near(rule, moment)
    if not isinstance(rule, dateutil.rrule.rrule) or rule._count:
        return rule
    if rule._bysetpos and rule._freq not in SUB_DAILY:
        return rule
    if rule._freq in MONTHS_PER_PERIOD:
        return _moved_by_months(rule, moment, MONTHS_PER_PERIOD[rule._freq] * rule._interval)
    return _moved_by_period(rule, moment, timedelta(seconds=FIXED_PERIODS[rule._freq]))


def _moved_by_period(rule: dateutil.rrule.rrule, moment: datetime.datetime, unit: timedelta):
    period = unit * rule._interval
    start = rule._dtstart
    periods = (moment.replace(tzinfo=None) - start.replace(tzinfo=None)) // period - 1
    if periods <= 0:
        return rule
    return rule.replace(dtstart=start + periods * period)


def _moved_by_months(rule: dateutil.rrule.rrule, moment: datetime.datetime, period: int):
    """Whole calendar periods (the same day of the month and time of day, which a rule
    without BYMONTHDAY or BYMONTH takes from its DTSTART); left alone when that day does
    not exist in the month it would move to."""
    start = rule._dtstart
    months = (moment.year - start.year) * 12 + moment.month - start.month
    periods = months // period - 1
    if periods <= 0:
        return rule
    year, month = divmod(start.year * 12 + start.month - 1 + periods * period, 12)
    try:
        return rule.replace(dtstart=start.replace(year=year, month=month + 1))
    except ValueError:
        return rule


def _set_started_near(rules: dateutil.rrule.rruleset, moment: datetime.datetime):
    """A set's occurrences from `moment` on depend only on those of its rules, exclusion
    rules and dates from `moment` on."""
    moved = dateutil.rrule.rruleset()
    for rule in rules._rrule:
        moved.rrule(started_near(rule, moment))
    for rule in rules._exrule:
        moved.exrule(started_near(rule, moment))
    for date in rules._rdate:
        moved.rdate(date)
    for date in rules._exdate:
        moved.exdate(date)
    return moved


# cron -----------------------------------------------------------------------------------


class MeteredCroniter(croniter):
    """croniter charging each run time it looks for, and each search for a field's next
    match in that (every pass of its search loop that moves the time makes one), to
    `meter`, when one is set."""

    meter: StepMeter | None = None
    # A search costs about ten times what an rrule step does (measured: ~20 µs and ~2 µs).
    SEARCH_STEPS = 10

    def _charge(self) -> None:
        if self.meter is not None:
            self.meter.charge(self.SEARCH_STEPS)

    def _calc(self, now, expanded, nth_weekday_of_month, is_prev):
        self._charge()
        return super()._calc(now, expanded, nth_weekday_of_month, is_prev)

    def _get_next_nearest_diff(self, x, to_check, range_val):
        self._charge()
        return croniter._get_next_nearest_diff(x, to_check, range_val)

    def _get_prev_nearest_diff(self, x, to_check, range_val):
        self._charge()
        return croniter._get_prev_nearest_diff(x, to_check, range_val)

    def _get_nth_weekday_of_month(self, year, month, day_of_week):
        self._charge()
        return croniter._get_nth_weekday_of_month(year, month, day_of_week)

    def _get_nearest_weekday(self, year, month, day):
        self._charge()
        return croniter._get_nearest_weekday(year, month, day)
