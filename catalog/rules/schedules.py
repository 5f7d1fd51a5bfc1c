"""Every schedule rule of the catalog, shared by models, API, admin and importer.

A deployment schedule is one of three kinds, exactly as Prefect defines them:

- interval: fire every `interval` seconds counted from `anchor_date`;
- cron: fire when a cron expression matches, in `timezone`;
- rrule: fire on the occurrences of an RFC 5545 recurrence rule, in `timezone`.

This module parses and validates each field with Prefect's own messages, renders a
schedule as Prefect's JSON; `schedule_runs.py` computes run times. It knows nothing of the ORM.
"""

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone
from functools import cache, lru_cache
from typing import Any

import dateutil.rrule
from croniter import croniter
from croniter.croniter import CroniterBadDateError
from pydantic import TypeAdapter, ValidationError

from catalog.rules.datetimes import DatetimeError, format_datetime, parse_datetime

MAX_RRULE_LENGTH = 6500
# Prefect checks at most this many candidate dates when it computes run times.
MAX_ITERATIONS = 1000
DEFAULT_RRULE_ANCHOR = datetime(2020, 1, 1)
# A cron expression must match at least once in this many years after the reference.
CRON_SEARCH_YEARS = 50
CRON_REFERENCE = datetime(2000, 1, 1)

INTERVAL_KEYS = ("interval", "anchor_date", "timezone")
CRON_KEYS = ("cron", "timezone", "day_or")
RRULE_KEYS = ("rrule", "timezone")
SCHEDULE_KINDS = ("interval", "cron", "rrule")
# The zone a schedule given without one gets, by kind: Prefect infers "UTC" for intervals
# (from the anchor's bare offset) and rrules, and leaves cron's null (run in UTC).
DEFAULT_TIMEZONES = {"interval": "UTC", "cron": None, "rrule": "UTC"}
# A deployment schedule in Prefect's JSON, keys in its order.
DEPLOYMENT_SCHEDULE_KEYS = (
    "id",
    "created",
    "updated",
    "deployment_id",
    "schedule",
    "active",
    "max_scheduled_runs",
    "parameters",
    "slug",
)
# The columns of a schedule row that together hold its rule (see `schedule_columns`).
SCHEDULE_RULE_COLUMNS = (
    "kind",
    "interval",
    "anchor_date",
    "anchor_utc_offset",
    "cron",
    "day_or",
    "rrule",
    "timezone",
)

_RANDOM_OR_HASHED = re.compile(r"^[HR](\(|/|$)", re.IGNORECASE)
_timedelta_adapter = TypeAdapter(timedelta)


class ScheduleError(ValueError):
    """A schedule rule was broken; `field` names the offending field."""

    def __init__(self, message: str, field: str = "schedule") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class IntervalSchedule:
    interval: float
    anchor_date: datetime
    timezone: str | None = "UTC"

    kind = "interval"


@dataclass(frozen=True)
class CronSchedule:
    cron: str
    timezone: str | None = None
    day_or: bool = True

    kind = "cron"


@dataclass(frozen=True)
class RRuleSchedule:
    rrule: str
    timezone: str | None = "UTC"

    kind = "rrule"


Schedule = IntervalSchedule | CronSchedule | RRuleSchedule


# Field rules ---------------------------------------------------------------------------


def default_timezone(kind: str) -> str | None:
    return DEFAULT_TIMEZONES[kind]


@cache
def available_timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def timezone_choices() -> list[str]:
    return sorted(available_timezones())


def validate_timezone(value: Any) -> str | None:
    """An IANA zone name; `None` and `""` pass through, as Prefect stores them."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ScheduleError("Input should be a valid string", "timezone")
    if value and value not in available_timezones():
        raise ScheduleError(
            f'Invalid timezone: "{value}" (specify in IANA tzdata format, for example,'
            " America/New_York)",
            "timezone",
        )
    return value


def parse_interval(value: Any) -> float:
    """Seconds as a float, from a number, an ISO 8601 duration or "HH:MM:SS"."""
    if isinstance(value, bool) or value is None:
        raise ScheduleError("Input should be a valid timedelta", "interval")
    if isinstance(value, timedelta):
        duration = value
    elif isinstance(value, int | float):
        try:
            duration = timedelta(seconds=value)
        except (OverflowError, ValueError):
            raise ScheduleError("Input should be a valid timedelta", "interval") from None
    elif isinstance(value, str) and is_number(value):
        try:
            duration = timedelta(seconds=float(value))
        except (OverflowError, ValueError):
            raise ScheduleError("Input should be a valid timedelta", "interval") from None
    else:
        try:
            duration = _timedelta_adapter.validate_python(value)
        except ValidationError as exc:
            raise ScheduleError(exc.errors()[0]["msg"], "interval") from None
    if duration <= timedelta(0):
        raise ScheduleError("interval must be positive", "interval")
    return duration.total_seconds()


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in {"nan", "inf", "+inf", "-inf", "infinity"}


def parse_anchor_date(value: Any) -> datetime:
    try:
        return parse_datetime(value)
    except DatetimeError as exc:
        raise ScheduleError(str(exc), "anchor_date") from None


def validate_cron(value: Any, day_or: bool = True) -> str:
    """A cron expression croniter reads, neither random nor hashed, that fires."""
    if not isinstance(value, str):
        raise ScheduleError("Input should be a valid string", "cron")
    problem = cron_problem(value, day_or)
    if problem:
        raise ScheduleError(problem, "cron")
    return value


@lru_cache(maxsize=8192)
def cron_problem(expression: str, day_or: bool) -> str | None:
    """What is wrong with an expression, if anything. Cached: imports repeat expressions,
    and checking that one fires costs about a millisecond."""
    try:
        validate_cron_syntax(expression)
        check_cron_fires(expression, day_or)
    except ScheduleError as exc:
        return exc.message
    return None


def validate_cron_syntax(value: Any) -> str:
    if not isinstance(value, str):
        raise ScheduleError("Input should be a valid string", "cron")
    fields = value.split()
    if any(_RANDOM_OR_HASHED.match(part) for field in fields for part in field.split(",")):
        raise ScheduleError(
            f'Random and Hashed expressions are unsupported, received: "{value}"', "cron"
        )
    if not croniter.is_valid(value):
        raise ScheduleError(f'Invalid cron string: "{value}"', "cron")
    return value


def check_cron_fires(expression: str, day_or: bool) -> None:
    """Healthchecks' rule: an expression is only valid once it has produced a run time."""
    if not _cron_ever_fires(expression, day_or):
        raise ScheduleError(f'Cron expression never fires: "{expression}"', "cron")


def _cron_ever_fires(expression: str, day_or: bool) -> bool:
    try:
        iterator = croniter(
            expression,
            CRON_REFERENCE,
            day_or=day_or,
            max_years_between_matches=CRON_SEARCH_YEARS,
        )
        iterator.get_next(datetime)
    except (CroniterBadDateError, ValueError, KeyError, OverflowError):
        return False
    return True


def validate_rrule(value: Any) -> str:
    if not isinstance(value, str):
        raise ScheduleError("Input should be a valid string", "rrule")
    problem = rrule_parse_problem(value)
    if problem:
        raise ScheduleError(f'Invalid RRule string "{value}": {problem}', "rrule")
    if len(value) > MAX_RRULE_LENGTH:
        raise ScheduleError(
            f'Invalid RRule string "{value[:40]}..."\n'
            f"Max length is {MAX_RRULE_LENGTH}, got {len(value)}",
            "rrule",
        )
    return value


@lru_cache(maxsize=8192)
def rrule_parse_problem(text: str) -> str | None:
    try:
        dateutil.rrule.rrulestr(text, cache=True, dtstart=DEFAULT_RRULE_ANCHOR)
    except (ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        return str(exc)
    return None


def normalize_rrule(rrule: str, timezone: str | None, now: datetime | None = None) -> str:
    """Give an rrule an explicit DTSTART, as Prefect does on every create and update.

    Minutely and secondly rules without COUNT get a recent anchor in the same phase, so
    that computing their next runs never walks millions of occurrences since 2020.
    """
    if "DTSTART" in rrule.upper():
        return rrule
    try:
        parsed = dateutil.rrule.rrulestr(rrule, dtstart=DEFAULT_RRULE_ANCHOR, cache=False)
    except (ValueError, TypeError):
        return rrule
    anchor = DEFAULT_RRULE_ANCHOR
    if isinstance(parsed, dateutil.rrule.rrule) and _is_high_frequency(parsed):
        anchor = _recent_anchor_in_phase(parsed, timezone, now or datetime.now(UTC))
    return f"DTSTART:{anchor.strftime('%Y%m%dT%H%M%S')}\n{rrule}"


def _is_high_frequency(rule: dateutil.rrule.rrule) -> bool:
    frequency = getattr(rule, "_freq", None)
    count = getattr(rule, "_count", None)
    return count is None and frequency in (dateutil.rrule.SECONDLY, dateutil.rrule.MINUTELY)


def _recent_anchor_in_phase(rule: dateutil.rrule.rrule, timezone: str | None, now: datetime):
    unit = 1 if rule._freq == dateutil.rrule.SECONDLY else 60
    period = unit * rule._interval
    local_now = now.astimezone(zone(timezone)).replace(tzinfo=None)
    elapsed = (local_now - DEFAULT_RRULE_ANCHOR).total_seconds()
    if elapsed <= 0:
        return DEFAULT_RRULE_ANCHOR
    return DEFAULT_RRULE_ANCHOR + timedelta(seconds=int(elapsed // period) * period)


# Whole schedules ------------------------------------------------------------------------


def schedule_from_json(data: Any, *, now: datetime | None = None) -> Schedule:
    """Read Prefect's schedule JSON; its keys decide the kind, as Prefect's union does."""
    if not isinstance(data, Mapping):
        raise ScheduleError("Input should be an object with interval, cron or rrule")
    if "interval" in data:
        return _interval_from_json(data, now)
    if "cron" in data:
        return _cron_from_json(data)
    if "rrule" in data:
        return _rrule_from_json(data)
    raise ScheduleError("Field required: one of interval, cron or rrule")


def _reject_extra_keys(data: Mapping, allowed: tuple[str, ...]) -> None:
    extra = [key for key in data if key not in allowed]
    if extra:
        raise ScheduleError(f"Extra inputs are not permitted: {', '.join(map(str, extra))}")


def _interval_from_json(data: Mapping, now: datetime | None) -> IntervalSchedule:
    _reject_extra_keys(data, INTERVAL_KEYS)
    anchor = data.get("anchor_date")
    return make_interval_schedule(
        interval=data["interval"],
        anchor_date=(now or datetime.now(UTC)) if anchor is None else anchor,
        timezone=data.get("timezone"),
    )


def _cron_from_json(data: Mapping) -> CronSchedule:
    _reject_extra_keys(data, CRON_KEYS)
    day_or = data.get("day_or", True)
    if not isinstance(day_or, bool):
        raise ScheduleError("Input should be a valid boolean", "day_or")
    return make_cron_schedule(cron=data["cron"], timezone=data.get("timezone"), day_or=day_or)


def _rrule_from_json(data: Mapping) -> RRuleSchedule:
    _reject_extra_keys(data, RRULE_KEYS)
    return make_rrule_schedule(
        rrule=data["rrule"], timezone=data.get("timezone", default_timezone("rrule"))
    )


def make_interval_schedule(*, interval: Any, anchor_date: Any, timezone: Any) -> IntervalSchedule:
    seconds = parse_interval(interval)
    anchor = parse_anchor_date(anchor_date)
    zone_name = default_timezone("interval") if timezone is None else validate_timezone(timezone)
    return IntervalSchedule(seconds, anchor, zone_name)


def make_cron_schedule(*, cron: Any, timezone: Any, day_or: bool = True) -> CronSchedule:
    return CronSchedule(validate_cron(cron, day_or), validate_timezone(timezone), day_or)


def make_rrule_schedule(*, rrule: Any, timezone: Any) -> RRuleSchedule:
    return RRuleSchedule(validate_rrule(rrule), validate_timezone(timezone))


def stored_form(schedule: Schedule, now: datetime | None = None) -> Schedule:
    """The schedule as the catalog stores it: an rrule gets an explicit DTSTART, as Prefect
    gives it on every create and update; the other kinds are stored as given."""
    if isinstance(schedule, RRuleSchedule):
        return RRuleSchedule(
            normalize_rrule(schedule.rrule, schedule.timezone, now), schedule.timezone
        )
    return schedule


def schedule_columns(schedule: Schedule) -> dict:
    """The columns of a schedule row that hold `schedule`."""
    columns = dict.fromkeys(SCHEDULE_RULE_COLUMNS)
    columns.update(kind=schedule.kind, day_or=True, timezone=schedule.timezone)
    if isinstance(schedule, IntervalSchedule):
        columns["interval"] = schedule.interval
        columns["anchor_date"] = schedule.anchor_date
        columns["anchor_utc_offset"] = int(schedule.anchor_date.utcoffset().total_seconds())
    elif isinstance(schedule, CronSchedule):
        columns["cron"], columns["day_or"] = schedule.cron, schedule.day_or
    else:
        columns["rrule"] = schedule.rrule
    return columns


def schedule_from_columns(columns: Mapping[str, Any]) -> Schedule:
    """The schedule a row's columns hold (the anchor in the UTC offset it was given in)."""
    kind = columns["kind"]
    if kind == "interval":
        anchor = columns["anchor_date"]
        if anchor is not None:
            offset = timedelta(seconds=columns["anchor_utc_offset"] or 0)
            anchor = anchor.astimezone(dt_timezone(offset))
        return IntervalSchedule(columns["interval"], anchor, columns["timezone"])
    if kind == "cron":
        return CronSchedule(columns["cron"], columns["timezone"], columns["day_or"])
    return RRuleSchedule(columns["rrule"], columns["timezone"])


def checked_columns(columns: Mapping[str, Any]) -> Schedule:
    """The schedule that a row's columns hold, checked with every rule of its kind."""
    kind = columns.get("kind")
    if kind == "interval":
        if columns.get("anchor_date") is None:
            raise ScheduleError("This field is required.", "anchor_date")
        stored = schedule_from_columns(columns)
        return make_interval_schedule(
            interval=stored.interval, anchor_date=stored.anchor_date, timezone=stored.timezone
        )
    if kind == "cron":
        return make_cron_schedule(
            cron=columns.get("cron"),
            timezone=columns.get("timezone"),
            day_or=columns.get("day_or", True),
        )
    if kind == "rrule":
        return make_rrule_schedule(rrule=columns.get("rrule"), timezone=columns.get("timezone"))
    raise ScheduleError("Choose interval, cron or rrule.", "kind")


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    """Prefect's JSON for a schedule, keys in Prefect's order."""
    if isinstance(schedule, IntervalSchedule):
        return {
            "interval": schedule.interval,
            "anchor_date": format_datetime(schedule.anchor_date),
            "timezone": schedule.timezone,
        }
    if isinstance(schedule, CronSchedule):
        return {"cron": schedule.cron, "timezone": schedule.timezone, "day_or": schedule.day_or}
    return {"rrule": schedule.rrule, "timezone": schedule.timezone}


# Run times -----------------------------------------------------------------------------


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name or "UTC")


def resolve_wall_time(naive: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """Attach a zone to a wall-clock time: a time skipped by DST moves forward by the gap,
    and a repeated time takes its first occurrence."""
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)
