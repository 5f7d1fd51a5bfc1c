"""Datetimes as Prefect reads and writes them.

Input follows pydantic's rules (which Prefect uses) plus Prefect's own: ISO 8601 with
`Z` or an offset, naive values and bare dates taken as UTC, and Unix seconds. Output
is `YYYY-MM-DDTHH:MM:SS[.ffffff]` followed by `Z` for UTC or the value's own offset.
"""

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from pydantic import TypeAdapter, ValidationError

_datetime_adapter = TypeAdapter(datetime)


class DatetimeError(ValueError):
    pass


def parse_datetime(value: object) -> datetime:
    """Parse a datetime the way Prefect does, keeping any UTC offset it was given."""
    if isinstance(value, bool):
        raise DatetimeError(f"Input should be a valid datetime, got {value!r}")
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = iso_datetime(value) or lenient_datetime(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    check_utc_range(parsed)
    return parsed.replace(tzinfo=fixed_zone(parsed.utcoffset()))


def check_utc_range(moment: datetime) -> None:
    """Databases compare instants in UTC: `0001-01-01T00:00:00+15:00` has none in range."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise DatetimeError("Input should be a valid datetime, dates out of range") from None


def iso_datetime(value: object) -> datetime | None:
    """The common case, fast: an ISO 8601 string. Anything else goes to pydantic."""
    if isinstance(value, str) and len(value) >= 19 and value[10] == "T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def lenient_datetime(value: object) -> datetime:
    try:
        return _datetime_adapter.validate_python(value)
    except ValidationError as exc:
        raise DatetimeError(exc.errors()[0]["msg"]) from None


@lru_cache(maxsize=256)
def fixed_zone(offset: timedelta) -> timezone:
    return UTC if not offset else timezone(offset)


def format_offset(offset: timedelta | None) -> str:
    if not offset:
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hours, remainder = divmod(seconds, 3600)
    minutes, seconds = divmod(remainder, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


def format_datetime(value: datetime | None) -> str | None:
    """Render a datetime as Prefect's API does; aware values keep their own offset."""
    if value is None:
        return None
    timespec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=timespec) + format_offset(
        value.utcoffset()
    )


@lru_cache(maxsize=4096)
def format_utc(value: datetime | None) -> str | None:
    """Render a stored timestamp in UTC (`…Z`), as Prefect renders database columns.
    Cached: a bulk write stamps thousands of rows with the same few instants."""
    if value is None:
        return None
    return format_datetime(value.astimezone(UTC))
