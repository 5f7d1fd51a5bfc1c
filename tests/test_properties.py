"""Properties that must hold for every input, not just the ones a person thought of.

Hypothesis draws the inputs; the schedule and datetime properties need no database,
the tag and import properties run on whichever database the suite runs on.
"""

import json
from datetime import UTC, datetime, timedelta, timezone

import dateutil.rrule
import pytest
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.importing.exporter import bundle_text, deployments_to_export, export_bundle
from catalog.importing.run import import_bundle
from catalog.importing.sources.json_files import sort_document
from catalog.models import ConcurrencyLimit, Deployment, Flow, WorkPool
from catalog.rules import schedule_runs, schedules
from catalog.rules.datetimes import format_utc, parse_datetime
from tests.factories import DeploymentFactory, FlowFactory

PURE = settings(max_examples=300, deadline=None)
WITH_DATABASE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Cron -----------------------------------------------------------------------------------


def cron_field(low: int, high: int) -> st.SearchStrategy[str]:
    number = st.integers(low, high)
    ranged = st.tuples(number, number).map(lambda pair: f"{min(pair)}-{max(pair)}")
    single = st.one_of(st.just("*"), number.map(str), ranged)
    stepped = st.tuples(single, st.integers(1, high)).map(lambda pair: f"{pair[0]}/{pair[1]}")
    item = st.one_of(single, stepped)
    return st.lists(item, min_size=1, max_size=3).map(",".join)


# Days of the month up to 28 exist in every month, so each of these fires.
FIRING_CRON = st.tuples(
    cron_field(0, 59), cron_field(0, 23), cron_field(1, 28), cron_field(1, 12), cron_field(0, 6)
).map(" ".join)
NOISY_CRON = st.one_of(
    FIRING_CRON,
    st.text(alphabet="0123456789*/-, ?LW#abcJANMON", max_size=30),
    st.tuples(cron_field(0, 70), cron_field(0, 30), cron_field(0, 35)).map(
        lambda parts: " ".join(parts) + " * *"
    ),
)


def accepted(check, *args) -> bool:
    try:
        check(*args)
    except schedules.ScheduleError:
        return False
    return True


@PURE
@given(NOISY_CRON, st.booleans())
def test_a_cron_is_accepted_exactly_when_croniter_reads_it_and_it_fires(expression, day_or):
    reads = croniter.is_valid(expression)
    fires = reads and schedules._cron_ever_fires(expression, day_or)
    assert accepted(schedules.validate_cron, expression, day_or) == (reads and fires)


@PURE
@given(FIRING_CRON, st.booleans())
def test_every_cron_with_days_every_month_has_is_accepted(expression, day_or):
    assert accepted(schedules.validate_cron, expression, day_or)


@PURE
@given(FIRING_CRON, st.booleans(), st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1)))
def test_cron_run_times_in_utc_are_croniters(expression, day_or, start):
    start = start.replace(tzinfo=UTC, microsecond=0)
    schedule = schedules.make_cron_schedule(cron=expression, timezone="UTC", day_or=day_or)
    ours = schedule_runs.next_runs(schedule, start + timedelta(seconds=1), 5)
    iterator = croniter(expression, start, day_or=day_or)
    assert ours == [iterator.get_next(datetime) for _ in range(5)]


# RRule ----------------------------------------------------------------------------------

RRULE_PARTS = st.fixed_dictionaries(
    {"FREQ": st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "BOGUS"])},
    optional={
        "INTERVAL": st.integers(-1, 30).map(str),
        "COUNT": st.integers(0, 50).map(str),
        "BYDAY": st.lists(
            st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX"]),
            min_size=1,
            max_size=3,
        ).map(",".join),
        "BYHOUR": st.lists(st.integers(0, 25), min_size=1, max_size=3).map(
            lambda hours: ",".join(map(str, hours))
        ),
        "BYMONTHDAY": st.integers(-31, 32).map(str),
        "WKST": st.sampled_from(["MO", "SU"]),
    },
)
RRULES = st.one_of(
    RRULE_PARTS.map(lambda parts: ";".join(f"{key}={value}" for key, value in parts.items())),
    st.text(alphabet="FREQ=DAILY;BYHOURT0123456789:\n", max_size=40),
)


def dateutil_reads(text: str) -> bool:
    try:
        dateutil.rrule.rrulestr(text, dtstart=datetime(2020, 1, 1))
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        return False
    return True


@PURE
@given(RRULES)
def test_an_rrule_is_accepted_exactly_when_dateutil_reads_it(text):
    assert accepted(schedules.validate_rrule, text) == dateutil_reads(text)


@PURE
@given(st.integers(schedules.MAX_RRULE_LENGTH - 20, schedules.MAX_RRULE_LENGTH + 20))
def test_an_rrule_longer_than_prefects_limit_is_refused(length):
    text = "FREQ=DAILY;BYHOUR=1" + ",1" * ((length - 19) // 2)
    text += "0" * (length - len(text))  # the last hour becomes 10: still a valid rule
    assert len(text) == length and dateutil_reads(text)
    assert accepted(schedules.validate_rrule, text) == (len(text) <= schedules.MAX_RRULE_LENGTH)


# Intervals ------------------------------------------------------------------------------

WHOLE_SECONDS = st.integers(1, 10 * 365 * 86400)


def iso_duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    return f"P{days}DT{hours}H{minutes}M{rest}S"


def clock_time(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, rest = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{rest:02d}"


@PURE
@given(WHOLE_SECONDS)
def test_every_interval_form_gives_the_same_float_seconds(seconds):
    forms = [
        seconds,
        float(seconds),
        str(seconds),
        iso_duration(seconds),
        timedelta(seconds=seconds),
    ]
    if seconds < 86400:
        forms.append(clock_time(seconds))
    for form in forms:
        parsed = schedules.parse_interval(form)
        assert parsed == float(seconds) and type(parsed) is float, form


@PURE
@given(st.floats(min_value=0.001, max_value=1e9, allow_nan=False))
def test_a_fractional_interval_round_trips_through_its_json(seconds):
    schedule = schedules.make_interval_schedule(
        interval=seconds, anchor_date="2026-01-01T00:00:00Z", timezone="UTC"
    )
    again = schedules.schedule_from_json(
        json.loads(json.dumps(schedules.schedule_to_json(schedule)))
    )
    assert again.interval == schedule.interval == timedelta(seconds=seconds).total_seconds()


@PURE
@given(st.one_of(st.integers(-(10**6), 0), st.floats(max_value=0, allow_nan=False)))
def test_an_interval_of_no_time_or_less_is_refused(seconds):
    assert not accepted(schedules.parse_interval, seconds)


# Datetimes ------------------------------------------------------------------------------

OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
AWARE = st.datetimes(
    datetime(1970, 1, 2), datetime(2200, 1, 1), timezones=st.one_of(OFFSETS, st.timezones())
)


@PURE
@given(AWARE)
def test_every_stored_datetime_renders_in_utc_with_z_and_reads_back(moment):
    text = format_utc(moment)
    assert text.endswith("Z") and "+" not in text
    # Compared as instants: Python never equates an ambiguous local time across zones.
    assert parse_datetime(text).timestamp() == moment.timestamp()


# Tags -----------------------------------------------------------------------------------

TAG = st.sampled_from(["etl", "ETL", "nightly", "a b", "50%", "under_score", 'quo"te', "é", ""])
TAG_LISTS = st.lists(st.lists(TAG, max_size=4, unique=True), min_size=1, max_size=8)


@pytest.mark.django_db
@WITH_DATABASE
@given(stored=TAG_LISTS, wanted=st.lists(TAG, max_size=3))
def test_the_tag_lookups_are_python_membership(stored, wanted):
    flow = FlowFactory()
    rows = [DeploymentFactory(flow=flow, tags=tags) for tags in stored]
    try:
        everything = Deployment.objects.filter(flow=flow)
        with_all = set(everything.filter(tags__has_all_tags=wanted).values_list("id", flat=True))
        with_any = set(everything.filter(tags__has_any_tags=wanted).values_list("id", flat=True))
        with_none = everything.filter(tags__has_none_of_tags=wanted).values_list("id", flat=True)
        assert with_all == {row.id for row in rows if all(tag in row.tags for tag in wanted)}
        assert with_any == {row.id for row in rows if any(tag in row.tags for tag in wanted)}
        assert set(with_none) == {row.id for row in rows} - with_any
    finally:
        flow.delete()


# Import and export -----------------------------------------------------------------------

SCHEDULE = st.one_of(
    st.builds(
        lambda seconds, zone: {
            "interval": seconds,
            "anchor_date": "2026-03-01T08:00:00+01:00",
            "timezone": zone,
        },
        st.integers(60, 86400 * 7),
        st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]),
    ),
    st.builds(
        lambda cron, day_or: {"cron": cron, "timezone": "Asia/Tokyo", "day_or": day_or},
        FIRING_CRON,
        st.booleans(),
    ),
    st.builds(
        lambda hour: {"rrule": f"FREQ=WEEKLY;BYDAY=MO;BYHOUR={hour}", "timezone": "UTC"},
        st.integers(0, 23),
    ),
)


def texts(max_size: int) -> st.SearchStrategy[str]:
    """Any text a database can store: every character but NUL and lone surrogates (both
    refused, and tested, apart)."""
    characters = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])
    return st.text(characters, max_size=max_size)


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(10**9), 10**9), texts(8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(texts(5), inner, max_size=3)
    ),
    max_leaves=8,
)
NAME = st.text(alphabet="abcdefghij-_ 0123456789é", min_size=1, max_size=20).filter(
    lambda name: name.strip() == name
)
DEPLOYMENT = st.fixed_dictionaries(
    {
        "name": NAME,
        "flow_name": st.sampled_from(["alpha", "beta"]),
        "tags": st.lists(TAG, max_size=3, unique=True),
        "paused": st.booleans(),
        "parameters": st.dictionaries(texts(6), JSON_VALUE, max_size=3),
        "description": st.one_of(st.none(), texts(30)),
        "schedules": st.lists(
            st.builds(
                lambda schedule, active: {"schedule": schedule, "active": active},
                SCHEDULE,
                st.booleans(),
            ),
            max_size=3,
        ),
    }
)


def empty_the_catalog() -> None:
    for model in (Deployment, Flow, ConcurrencyLimit, WorkPool):
        model.objects.all().delete()


def exported() -> str:
    return bundle_text(export_bundle(deployments_to_export()))


@pytest.mark.django_db
@WITH_DATABASE
@given(
    st.lists(DEPLOYMENT, min_size=1, max_size=4, unique_by=lambda d: (d["flow_name"], d["name"]))
)
def test_import_export_import_is_a_fixed_point(records):
    empty_the_catalog()
    import_bundle(sort_document("generated.json", records))
    first = exported()
    empty_the_catalog()
    import_bundle(sort_document("export.json", json.loads(first)))
    assert exported() == first
    again = import_bundle(sort_document("export.json", json.loads(first)))
    assert again.summary() == f"created=0 updated=0 unchanged={len(records)} errors=0"
    assert exported() == first
