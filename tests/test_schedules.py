"""Every schedule rule, with time pinned: nothing here reads the clock."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from catalog.rules import schedule_runs, schedules
from catalog.rules.schedule_runs import next_runs
from catalog.rules.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    ScheduleError,
    normalize_rrule,
    schedule_from_json,
    schedule_to_json,
)

NOW = datetime(2026, 11, 28, 16, 15, 40, 877337, tzinfo=UTC)
NEW_YORK = "America/New_York"


def local_times(runs: list[datetime]) -> list[str]:
    return [run.isoformat() for run in runs]


# Intervals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (3600, 3600.0),
        (90.5, 90.5),
        ("PT1H30M", 5400.0),
        ("P1D", 86400.0),
        ("01:00:00", 3600.0),
        ("1 day", 86400.0),
        ("3600", 3600.0),
        ("90.5", 90.5),
        (timedelta(minutes=5), 300.0),
    ],
)
def test_it_reads_every_interval_form_as_float_seconds(given, seconds):
    parsed = schedules.parse_interval(given)
    assert parsed == seconds
    assert isinstance(parsed, float)


@pytest.mark.parametrize("given", [0, -5, "PT0S", "-01:00:00"])
def test_it_rejects_an_interval_that_is_not_positive(given):
    with pytest.raises(ScheduleError, match="interval must be positive") as error:
        schedules.parse_interval(given)
    assert error.value.field == "interval"


@pytest.mark.parametrize("given", ["soon", None, True, [60], {"seconds": 60}])
def test_it_rejects_an_interval_it_cannot_read(given):
    with pytest.raises(ScheduleError) as error:
        schedules.parse_interval(given)
    assert error.value.field == "interval"


def test_it_renders_an_interval_as_a_float_even_when_given_an_int():
    schedule = schedule_from_json({"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z"})
    assert schedule_to_json(schedule)["interval"] == 3600.0
    assert repr(schedule_to_json(schedule)["interval"]) == "3600.0"


def test_an_anchor_date_keeps_the_offset_it_was_given():
    schedule = schedule_from_json(
        {"interval": 60, "anchor_date": "2024-06-01T12:00:00.123456+02:00"}
    )
    assert schedule_to_json(schedule)["anchor_date"] == "2024-06-01T12:00:00.123456+02:00"


@pytest.mark.parametrize(
    ("given", "rendered"),
    [
        ("2024-06-01T12:00:00", "2024-06-01T12:00:00Z"),
        ("2024-06-01T12:00:00+00:00", "2024-06-01T12:00:00Z"),
        ("2024-06-01", "2024-06-01T00:00:00Z"),
        (1700000000, "2023-11-14T22:13:20Z"),
    ],
)
def test_an_anchor_date_without_an_offset_is_utc(given, rendered):
    schedule = schedule_from_json({"interval": 60, "anchor_date": given, "timezone": NEW_YORK})
    assert schedule_to_json(schedule)["anchor_date"] == rendered


def test_an_interval_without_an_anchor_is_anchored_now():
    schedule = schedule_from_json({"interval": 60}, now=NOW)
    assert schedule.anchor_date == NOW
    assert schedule_to_json(schedule)["anchor_date"] == "2026-11-28T16:15:40.877337Z"


def test_prefect_defaults_interval_and_rrule_zones_to_utc_and_cron_to_null():
    interval = schedule_from_json({"interval": 60}, now=NOW)
    cron = schedule_from_json({"cron": "*/5 * * * *"})
    rrule = schedule_from_json({"rrule": "FREQ=DAILY"})
    assert (interval.timezone, cron.timezone, rrule.timezone) == ("UTC", None, "UTC")
    assert schedule_to_json(cron) == {"cron": "*/5 * * * *", "timezone": None, "day_or": True}


def test_an_interval_zone_is_utc_when_the_anchor_has_only_an_offset():
    schedule = schedule_from_json({"interval": 60, "anchor_date": "2024-06-01T12:00:00+02:00"})
    assert schedule.timezone == "UTC"


def test_an_empty_zone_is_kept_as_prefect_keeps_it():
    schedule = schedule_from_json({"interval": 60, "anchor_date": NOW, "timezone": ""})
    assert schedule_to_json(schedule)["timezone"] == ""


# Time zones -----------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Paris", "UTC", "Asia/Kolkata"])
def test_it_accepts_iana_zone_names(zone):
    assert schedules.validate_timezone(zone) == zone


@pytest.mark.parametrize("zone", ["Mars/Base", "EST5EDT ", "utc+2", "localtime"])
def test_it_rejects_names_outside_the_iana_list(zone):
    with pytest.raises(ScheduleError, match=r"Invalid timezone: .*IANA tzdata format") as error:
        schedules.validate_timezone(zone)
    assert error.value.field == "timezone"


def test_the_zone_choices_are_sorted_iana_names():
    choices = schedules.timezone_choices()
    assert choices == sorted(choices)
    assert NEW_YORK in choices and "localtime" not in choices


# Cron -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 * * *",
        "*/5 * * * *",
        "@daily",
        "0 0 * * MON-FRI",
        "30 9 1-7 * 1",
        "0 0 * * * 30",
        "0 12 * MAR THU",
    ],
)
def test_it_accepts_cron_expressions_croniter_accepts(expression):
    assert schedules.validate_cron(expression) == expression


@pytest.mark.parametrize("expression", ["H 0 * * *", "R 0 * * *", "h(0-29) * * * *", "0 H/2 * * *"])
def test_it_rejects_random_and_hashed_cron_forms(expression):
    with pytest.raises(ScheduleError, match="Random and Hashed expressions are unsupported"):
        schedules.validate_cron(expression)


@pytest.mark.parametrize("expression", ["not a cron", "61 * * * *", "* * *", ""])
def test_it_rejects_cron_expressions_it_cannot_read(expression):
    with pytest.raises(ScheduleError, match="Invalid cron string") as error:
        schedules.validate_cron(expression)
    assert error.value.field == "cron"


@pytest.mark.parametrize("expression", ["0 0 30 2 *", "0 0 31 4 *"])
def test_it_rejects_cron_expressions_that_never_fire(expression):
    with pytest.raises(ScheduleError, match="never fires"):
        schedules.validate_cron(expression)


def test_a_leap_day_cron_fires_and_is_accepted():
    assert schedules.validate_cron("0 0 29 2 *") == "0 0 29 2 *"


def test_day_or_joins_day_of_month_and_weekday_with_or():
    schedule = CronSchedule("30 9 1-7 * 1", "UTC", day_or=True)
    runs = next_runs(schedule, datetime(2026, 6, 1, tzinfo=UTC), 8)
    assert {run.day for run in runs} == {1, 2, 3, 4, 5, 6, 7, 8}


def test_day_or_off_needs_both_the_day_of_month_and_the_weekday():
    schedule = CronSchedule("30 9 1-7 * 1", NEW_YORK, day_or=False)
    runs = next_runs(schedule, datetime(2026, 6, 1, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-06-01T09:30:00-04:00",
        "2026-07-06T09:30:00-04:00",
        "2026-08-03T09:30:00-04:00",
    ]


# RRule ----------------------------------------------------------------------------------


def test_it_rejects_an_rrule_dateutil_cannot_read():
    with pytest.raises(ScheduleError, match='Invalid RRule string "garbage"') as error:
        schedules.validate_rrule("garbage")
    assert error.value.field == "rrule"


def test_it_rejects_an_rrule_longer_than_6500_characters():
    text = "DTSTART:20200101T000000\nRRULE:FREQ=DAILY\nRDATE:" + ",".join(
        f"{year}{month:02d}{day:02d}T000000"
        for year in (2026, 2027)
        for month in range(1, 13)
        for day in range(1, 29)
    )
    assert len(text) > schedules.MAX_RRULE_LENGTH
    with pytest.raises(ScheduleError, match=r"Max length is 6500, got \d+"):
        schedules.validate_rrule(text)


def test_it_gives_an_rrule_the_2020_anchor_prefect_gives_it():
    assert normalize_rrule("FREQ=DAILY;INTERVAL=1", "UTC", NOW) == (
        "DTSTART:20200101T000000\nFREQ=DAILY;INTERVAL=1"
    )


def test_it_anchors_a_minutely_rrule_recently_in_the_same_phase():
    assert normalize_rrule("FREQ=MINUTELY;INTERVAL=15", "UTC", NOW) == (
        "DTSTART:20261128T161500\nFREQ=MINUTELY;INTERVAL=15"
    )


def test_it_anchors_a_minutely_rrule_in_the_schedules_own_zone():
    assert normalize_rrule("FREQ=MINUTELY;INTERVAL=15", NEW_YORK, NOW) == (
        "DTSTART:20261128T111500\nFREQ=MINUTELY;INTERVAL=15"
    )


def test_it_leaves_an_rrule_with_a_dtstart_alone():
    text = "DTSTART:20260105T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO"
    assert normalize_rrule(text, "UTC", NOW) == text


def test_an_rrule_runs_on_its_weekdays_in_its_zone():
    schedule = RRuleSchedule(
        "DTSTART:20260105T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30", NEW_YORK
    )
    runs = next_runs(schedule, datetime(2026, 3, 6, tzinfo=UTC), 4)
    assert local_times(runs) == [
        "2026-03-06T09:30:00-05:00",
        "2026-03-09T09:30:00-04:00",
        "2026-03-11T09:30:00-04:00",
        "2026-03-13T09:30:00-04:00",
    ]


def test_an_rrule_set_applies_its_exclusions():
    schedule = RRuleSchedule(
        "DTSTART:20260101T080000\nRRULE:FREQ=DAILY\nEXDATE:20260102T080000", "UTC"
    )
    runs = next_runs(schedule, datetime(2026, 1, 1, tzinfo=UTC), 3)
    assert [run.day for run in runs] == [1, 3, 4]


# Whole schedules ------------------------------------------------------------------------


def test_the_keys_of_a_schedule_decide_its_kind():
    assert isinstance(schedule_from_json({"interval": 5}, now=NOW), IntervalSchedule)
    assert isinstance(schedule_from_json({"cron": "* * * * *"}), CronSchedule)
    assert isinstance(schedule_from_json({"rrule": "FREQ=HOURLY"}), RRuleSchedule)


@pytest.mark.parametrize(
    "given",
    [
        {},
        [],
        "0 0 * * *",
        {"cron": "* * * * *", "anchor_date": "2026-01-01"},
        {"interval": 60, "day_or": True},
    ],
)
def test_it_rejects_schedule_json_of_no_single_kind(given):
    with pytest.raises(ScheduleError) as error:
        schedule_from_json(given)
    assert error.value.field == "schedule"


def test_it_rejects_a_day_or_that_is_not_a_boolean():
    with pytest.raises(ScheduleError) as error:
        schedule_from_json({"cron": "* * * * *", "day_or": "yes"})
    assert error.value.field == "day_or"


@pytest.mark.parametrize(
    ("schedule", "keys"),
    [
        (IntervalSchedule(60.0, NOW, "UTC"), ["interval", "anchor_date", "timezone"]),
        (CronSchedule("* * * * *", None, True), ["cron", "timezone", "day_or"]),
        (RRuleSchedule("FREQ=DAILY", "UTC"), ["rrule", "timezone"]),
    ],
)
def test_it_renders_each_kind_with_prefects_key_order(schedule, keys):
    assert list(schedule_to_json(schedule)) == keys


# Run times across DST (America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00)


def test_an_hourly_interval_counts_elapsed_hours_across_the_spring_change():
    schedule = IntervalSchedule(
        3600.0, datetime(2026, 1, 5, 9, tzinfo=timezone(-timedelta(hours=5))), NEW_YORK
    )
    runs = next_runs(schedule, datetime(2026, 3, 8, 5, 0, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
    ]


# What Prefect 3.9.1's server computes here (IntervalSchedule.get_dates on Python 3.11,
# run in the interop venv): a sub-daily interval runs the hour that clocks repeat once,
# the second 01:00 and 01:30 (EST) are dropped as duplicates of the first (EDT).
def test_an_hourly_interval_runs_a_repeated_hour_once_when_clocks_go_back():
    schedule = IntervalSchedule(
        3600.0, datetime(2026, 1, 5, 9, tzinfo=timezone(-timedelta(hours=5))), NEW_YORK
    )
    runs = next_runs(schedule, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]


def test_a_half_hourly_interval_drops_the_repeated_half_hours_as_prefect_does():
    schedule = IntervalSchedule(
        1800.0, datetime(2026, 1, 5, 9, tzinfo=timezone(-timedelta(hours=5))), NEW_YORK
    )
    runs = next_runs(schedule, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 6)
    assert local_times(runs) == [
        "2026-11-01T00:30:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T02:30:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]


def test_a_daily_interval_keeps_its_wall_clock_time_across_the_spring_change():
    anchor = datetime(2026, 1, 5, 9, tzinfo=timezone(-timedelta(hours=5)))
    schedule = IntervalSchedule(86400.0, anchor, NEW_YORK)
    runs = next_runs(schedule, datetime(2026, 3, 6, tzinfo=UTC), 4)
    assert local_times(runs) == [
        "2026-03-06T09:00:00-05:00",
        "2026-03-07T09:00:00-05:00",
        "2026-03-08T09:00:00-04:00",
        "2026-03-09T09:00:00-04:00",
    ]


def test_a_daily_cron_stays_at_nine_across_the_autumn_change():
    schedule = CronSchedule("0 9 * * *", NEW_YORK)
    runs = next_runs(schedule, datetime(2026, 10, 31, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-10-31T09:00:00-04:00",
        "2026-11-01T09:00:00-05:00",
        "2026-11-02T09:00:00-05:00",
    ]


def test_a_cron_time_skipped_by_dst_runs_once_after_the_gap():
    schedule = CronSchedule("30 2 * * *", NEW_YORK)
    runs = next_runs(schedule, datetime(2026, 3, 7, 12, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-03-08T03:30:00-04:00",
        "2026-03-09T02:30:00-04:00",
        "2026-03-10T02:30:00-04:00",
    ]


def test_an_hourly_cron_runs_a_repeated_hour_once_when_clocks_go_back():
    schedule = CronSchedule("0 * * * *", NEW_YORK)
    runs = next_runs(schedule, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 3)
    assert local_times(runs) == [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]


def test_next_runs_include_a_run_exactly_at_the_start():
    schedule = CronSchedule("0 9 * * *", "UTC")
    start = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert next_runs(schedule, start, 1) == [start]


def test_next_runs_read_a_naive_start_as_utc():
    schedule = CronSchedule("0 9 * * *", "UTC")
    assert next_runs(schedule, datetime(2026, 1, 1, 8), 1) == [datetime(2026, 1, 1, 9, tzinfo=UTC)]


def test_next_runs_stop_when_an_rrule_runs_out():
    schedule = RRuleSchedule("DTSTART:20260101T000000\nRRULE:FREQ=DAILY;COUNT=2", "UTC")
    assert len(next_runs(schedule, datetime(2025, 1, 1, tzinfo=UTC), 10)) == 2


def test_next_runs_of_an_interval_start_at_the_next_step_after_the_anchor():
    schedule = IntervalSchedule(600.0, datetime(2026, 1, 1, 0, 5, tzinfo=UTC), "UTC")
    runs = next_runs(schedule, datetime(2026, 1, 1, 1, 0, 1, tzinfo=UTC), 2)
    assert local_times(runs) == ["2026-01-01T01:05:00+00:00", "2026-01-01T01:15:00+00:00"]


@pytest.mark.parametrize(
    ("rule", "zone_name"),
    [
        ("DTSTART:20200101T000000\nFREQ=HOURLY", "UTC"),
        ("DTSTART:20200101T000000\nFREQ=HOURLY;INTERVAL=5;BYDAY=MO,TU", NEW_YORK),
        ("DTSTART:20200101T000730\nRRULE:FREQ=MINUTELY;INTERVAL=7", "Europe/Paris"),
    ],
)
@pytest.mark.parametrize(
    "after", [datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 11, 1, 4, tzinfo=UTC)]
)
def test_a_frequent_rrule_gives_the_same_runs_started_near_the_moment(rule, zone_name, after):
    schedule = RRuleSchedule(rule, zone_name)
    walked = schedule_runs.localized_rrule(rule, schedules.zone(zone_name)).xafter(
        after, count=12, inc=True
    )
    assert next_runs(schedule, after, 12) == [
        run.astimezone(schedules.zone(zone_name)) for run in walked
    ]
