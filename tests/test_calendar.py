"""The fleet calendar: its arithmetic against a schedule-by-schedule expansion (zones and
DST weeks included), its filters, drill-down, budgets, cache, and queries that do not grow
with the fleet."""

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin import calendar_data
from catalog.admin.calendar_data import Filters
from catalog.models import CalendarExpansion, DeploymentSchedule
from catalog.rules import fleet_calendar
from catalog.rules.fleet_calendar import window_of
from catalog.rules.schedule_budget import StepMeter
from catalog.rules.schedule_runs import next_runs
from catalog.rules.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    schedule_from_columns,
)
from catalog.rules.schedules import zone as schedule_zone
from tests.factories import (
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)

BUDGET = 100_000
CALENDAR = "admin:catalog_deployment_calendar"
SLOT = "admin:catalog_deployment_calendar_slot"
# Europe/Berlin and America/New_York change to summer time on these Sundays and back on
# the others (2026).
SPRING_WEEK = date(2026, 3, 23)
AUTUMN_WEEK = date(2026, 10, 26)
NEW_YORK_SPRING = date(2026, 3, 5)
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", None]


# The arithmetic -------------------------------------------------------------------------------


def test_a_dst_week_has_a_day_of_23_hours_and_one_of_25_in_its_zone():
    spring = window_of(SPRING_WEEK, 7, "Europe/Berlin")
    autumn = window_of(AUTUMN_WEEK - timedelta(days=1), 7, "Europe/Berlin")
    assert [sum(1 for s in spring.slots() if s.day == d) for d in range(7)] == [24] * 6 + [23]
    assert [sum(1 for s in autumn.slots() if s.day == d) for d in range(7)] == [25] + [24] * 6
    assert spring.minutes == 7 * 24 * 60 - 60
    assert autumn.minutes == 7 * 24 * 60 + 60
    repeated = [s.local_start for s in autumn.slots() if s.day == 0 and s.local_start.hour == 2]
    assert [moment.tzname() for moment in repeated] == ["CEST", "CET"]


def test_window_minutes_are_the_runs_next_runs_finds():
    window = window_of(SPRING_WEEK, 7, "Europe/Berlin")
    for schedule in (
        IntervalSchedule(900.0, datetime(2025, 5, 5, 3, 7, 30, tzinfo=UTC), "Europe/Berlin"),
        CronSchedule("30 2 * * *", "Europe/Berlin"),
        RRuleSchedule("DTSTART:20260101T013000\nRRULE:FREQ=DAILY;BYHOUR=1,2,3", "Europe/Berlin"),
    ):
        expected = [
            window.minute_of(at)
            for at in next_runs(schedule, window.start, 5000, 10**7)
            if at < window.end
        ]
        assert list(fleet_calendar.window_minutes(schedule, window, BUDGET)) == expected
        assert list(by_next_runs(schedule, window)) == expected


def test_an_interval_anchor_counts_under_its_phase_with_the_same_minutes():
    window = window_of(AUTUMN_WEEK, 7, "America/New_York")
    for interval, anchor, zone in (
        (3600.0, datetime(2024, 2, 3, 4, 5, 6, 789, tzinfo=UTC), "Europe/Berlin"),
        (86400.0, datetime(2021, 7, 8, 9, 10, 11, tzinfo=UTC), "UTC"),
        (90.0, datetime(2026, 1, 1, 0, 0, 45, tzinfo=UTC), None),
        (172800.0, datetime(1969, 12, 30, 23, 59, 59, tzinfo=UTC), ""),
    ):
        schedule = IntervalSchedule(interval, anchor, zone)
        definition = fleet_calendar.definition_of(schedule)
        assert definition.anchor != anchor
        assert list(fleet_calendar.window_minutes(definition.schedule(), window, BUDGET)) == list(
            fleet_calendar.window_minutes(schedule, window, BUDGET)
        )


def test_elapsed_intervals_counted_in_microseconds_fall_where_next_runs_puts_them():
    rng = random.Random(7)
    for first_day, zone in (
        (AUTUMN_WEEK - timedelta(days=1), "Europe/Berlin"),
        (SPRING_WEEK, "UTC"),
    ):
        window = window_of(first_day, 7, zone)
        for _ in range(40):
            interval = float(rng.choice([60, 90, 600, 3600, 5400, 86400, 172800, 7 * 86400]))
            anchor = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(
                seconds=rng.randrange(2 * 10**8), microseconds=rng.randrange(10**6)
            )
            schedule = IntervalSchedule(interval, anchor, rng.choice(["UTC", None, "Asia/Tokyo"]))
            if not fleet_calendar.adds_elapsed_time(interval, schedule.timezone):
                continue
            found = fleet_calendar.window_minutes(schedule, window, 10**6)
            assert found == by_next_runs(schedule, window), schedule


def test_a_daily_interval_in_a_dst_zone_keeps_its_own_anchor():
    schedule = IntervalSchedule(86400.0, datetime(2026, 1, 1, 8, tzinfo=UTC), "Europe/Berlin")
    assert fleet_calendar.definition_of(schedule).anchor == schedule.anchor_date


def test_the_busiest_minutes_come_busiest_first_then_earliest():
    counted = fleet_calendar.Tally([0, 3, 5, 3, 0, 1])
    assert [(b.minute, b.runs) for b in counted.busiest(3)] == [(2, 5), (1, 3), (3, 3)]
    assert [b.minute for b in counted.busiest(10)] == [2, 1, 3, 5]


# A random fleet, grouped in SQL and counted, equals its schedules expanded one by one ---------


def random_schedule(rng: random.Random):
    zone = rng.choice(ZONES)
    kind = rng.choice(["interval", "interval", "cron", "rrule"])
    if kind == "interval":
        interval = rng.choice([60.0, 90.0, 900.0, 3600.0, 5400.0, 86400.0, 172800.0, 3600.5])
        anchor = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
        return IntervalSchedule(interval, anchor, zone or "UTC")
    if kind == "cron":
        cron = rng.choice(
            ["0 * * * *", "30 2 * * *", "*/20 1-3 * * *", "15 9 * * 1-5", "0 0 1 * *"]
        )
        return CronSchedule(cron, zone, rng.random() < 0.8)
    rule = rng.choice(
        [
            "DTSTART:20260101T023000\nRRULE:FREQ=DAILY",
            "DTSTART:20260105T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO,SU",
            "DTSTART:20260101T000000\nRRULE:FREQ=HOURLY;INTERVAL=5",
        ]
    )
    return RRuleSchedule(rule, zone or "UTC")


@pytest.fixture
def random_fleet(db) -> dict:
    """60 deployments, three schedules each; some paused, some schedules inactive."""
    rng = random.Random(16)
    flows = [FlowFactory(name=f"flow-{n}") for n in range(3)]
    queues = [WorkQueueFactory(name=f"queue-{n}") for n in range(3)]
    for number in range(60):
        deployment = DeploymentFactory(
            name=f"fleet-{number:02d}",
            flow=flows[number % 3],
            work_queue=queues[number % 3],
            paused=number % 7 == 0,
            tags=[f"tag-{number % 4}"],
        )
        for slot in range(3):
            DeploymentScheduleFactory(
                deployment=deployment,
                schedule=random_schedule(rng),
                active=rng.random() < 0.85,
                slug=f"s{slot}",
            )
    return {"flows": flows, "queues": queues}


def by_next_runs(schedule, window):
    return fleet_calendar.minutes_from_next_runs(schedule, window, StepMeter(10**7))


def brute_force(window, filters: Filters) -> list[int]:
    """Runs a minute, every counted schedule expanded by itself with `next_runs`."""
    per_minute = [0] * window.minutes
    for row in calendar_data.counted_schedules(filters):
        schedule = schedule_from_columns(row.__dict__)
        for minute in by_next_runs(schedule, window):
            per_minute[minute] += 1
    return per_minute


def grouped(window, filters: Filters) -> list[int]:
    groups = calendar_data.definition_groups(filters, 10_000)
    found = calendar_data.expansions_of(groups, window, BUDGET, 10**8, "TEST")
    counts = {group.definition: group.schedules for group in groups}
    return fleet_calendar.tally(
        window, ((minutes, counts[d]) for d, minutes in found.minutes.items())
    ).per_minute


@pytest.mark.parametrize(
    ("first_day", "zone"),
    [
        (SPRING_WEEK, "Europe/Berlin"),
        (AUTUMN_WEEK - timedelta(days=1), "Europe/Berlin"),
        (NEW_YORK_SPRING, "America/New_York"),
        (date(2026, 6, 1), "Asia/Kathmandu"),
    ],
)
def test_the_grouped_counts_equal_a_schedule_by_schedule_expansion(random_fleet, first_day, zone):
    window = window_of(first_day, 7, zone)
    assert DeploymentSchedule.objects.count() == 180
    groups = calendar_data.definition_groups(Filters(), 10_000)
    assert (
        sum(group.schedules for group in groups)
        == calendar_data.counted_schedules(Filters()).count()
    )
    expected = brute_force(window, Filters())
    assert sum(expected) > 1000
    assert grouped(window, Filters()) == expected
    # Twice: the second time from the stored expansions.
    assert CalendarExpansion.objects.count() == len(groups)
    assert grouped(window, Filters()) == expected


def test_the_grouped_counts_equal_the_brute_force_with_each_filter(random_fleet):
    window = window_of(AUTUMN_WEEK - timedelta(days=1), 7, "America/New_York")
    for filters in (
        Filters(flow="flow-1"),
        Filters(work_pool=random_fleet["queues"][2].work_pool.name),
        Filters(work_queue="queue-0"),
        Filters(tags=("tag-1",)),
        Filters(tags=("tag-1", "tag-3")),
    ):
        expected = brute_force(window, filters)
        assert 0 < sum(expected) < sum(brute_force(window, Filters()))
        assert grouped(window, filters) == expected, filters


def test_a_day_window_counts_the_same_runs_as_that_day_of_the_week(random_fleet):
    week = window_of(SPRING_WEEK, 7, "Europe/Berlin")
    sunday = window_of(SPRING_WEEK + timedelta(days=6), 1, "Europe/Berlin")
    offset = week.minute_of(sunday.start)
    assert grouped(sunday, Filters()) == grouped(week, Filters())[offset:]


def test_the_slot_lists_exactly_the_deployments_with_a_run_in_it(random_fleet):
    window = window_of(SPRING_WEEK, 7, "Europe/Berlin")
    groups = calendar_data.definition_groups(Filters(), 10_000)
    found = calendar_data.expansions_of(groups, window, BUDGET, 10**8, "TEST")
    for start, end in ((0, 60), (6 * 1440 + 60, 6 * 1440 + 120), (2 * 1440 + 30, 2 * 1440 + 31)):
        expected = set()
        for row in calendar_data.counted_schedules(Filters()).select_related("deployment"):
            minutes = fleet_calendar.window_minutes(
                schedule_from_columns(row.__dict__), window, BUDGET
            )
            if fleet_calendar.fires_between(minutes, start, end):
                expected.add(row.deployment.name)
        firing = calendar_data.definitions_firing(found, start, end)
        listed = calendar_data.FiringDeployments(Filters(), firing)
        assert {deployment.name for deployment in listed[0:1000]} == expected
        assert listed.count() == len(expected)


def test_next_runs_after_a_time_in_the_schedules_own_zone_skips_no_run_across_dst():
    schedule = IntervalSchedule(
        900.0, datetime(2025, 2, 7, 20, 48, 20, tzinfo=UTC), "Europe/Berlin"
    )
    in_utc = next_runs(schedule, datetime(2026, 3, 29, 4, 48, 21, tzinfo=UTC), 3)
    in_zone = next_runs(schedule, in_utc[0].astimezone(schedule_zone("Europe/Berlin")), 3)
    assert in_zone == in_utc
    assert in_utc[1] - in_utc[0] == timedelta(minutes=15)


# The pages ---------------------------------------------------------------------------------------


def calendar_url(**query) -> str:
    return reverse(CALENDAR) + "?" + "&".join(f"{key}={value}" for key, value in query.items())


def make_fleet(size: int, prefix: str = "d", **fields) -> list:
    """`size` deployments with an hourly interval (anchors varying), a weekday cron and a
    daily rrule each."""
    made = []
    for number in range(size):
        deployment = DeploymentFactory(name=f"{prefix}-{number:03d}", **fields)
        anchor = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * number, seconds=number)
        DeploymentScheduleFactory(
            deployment=deployment, schedule=IntervalSchedule(3600.0, anchor, "UTC"), slug="hourly"
        )
        DeploymentScheduleFactory(
            deployment=deployment,
            schedule=CronSchedule(f"{number % 3} 9 * * 1-5", "Europe/Berlin"),
            slug="weekdays",
        )
        DeploymentScheduleFactory(
            deployment=deployment,
            schedule=RRuleSchedule("DTSTART:20260101T063000\nRRULE:FREQ=DAILY", "America/New_York"),
            slug="daily",
        )
        made.append(deployment)
    return made


def test_the_week_shows_every_hour_in_the_zone_and_the_busiest_minutes(admin_client, random_fleet):
    response = admin_client.get(calendar_url(day="2026-03-23", zone="Europe/Berlin"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="calendar-zone">Europe/Berlin<' in page
    assert "Paused deployments and inactive schedules are left out" in page
    window = window_of(SPRING_WEEK, 7, "Europe/Berlin")
    expected = brute_force(window, Filters())
    assert response.context["totals"]["runs"] == sum(expected)
    assert page.count('class="calendar-slot') == 7 * 24 - 1
    assert "23 h (DST)" in page
    busiest = response.context["busiest"]
    assert len(busiest) == 10
    assert busiest[0]["runs"] == max(expected)
    assert len(page.encode()) < 200_000


def test_the_day_view_of_the_autumn_change_has_25_hours(admin_client, random_fleet):
    response = admin_client.get(calendar_url(view="day", day="2026-10-25", zone="Europe/Berlin"))
    page = response.content.decode()
    assert page.count('class="calendar-slot') == 25
    assert "25 h (DST)" in page
    window = window_of(date(2026, 10, 25), 1, "Europe/Berlin")
    assert response.context["totals"]["runs"] == sum(brute_force(window, Filters()))


def test_each_filter_counts_what_the_brute_force_counts(admin_client, random_fleet):
    pool = random_fleet["queues"][1].work_pool.name
    window = window_of(date(2026, 6, 1), 7, "Asia/Kolkata")
    for query, filters in (
        ({"flow": "flow-2"}, Filters(flow="flow-2")),
        ({"work_pool": pool}, Filters(work_pool=pool)),
        ({"work_queue": "queue-0"}, Filters(work_queue="queue-0")),
        ({"tags": "tag-0,%20tag-2"}, Filters(tags=("tag-0", "tag-2"))),
    ):
        response = admin_client.get(calendar_url(day="2026-06-01", zone="Asia/Kolkata", **query))
        assert response.status_code == 200, query
        assert response.context["totals"]["runs"] == sum(brute_force(window, filters)), query


def test_an_unknown_zone_is_a_form_error(admin_client, db):
    response = admin_client.get(calendar_url(zone="Mars/Olympus"))
    assert response.status_code == 200
    assert "Unknown time zone &quot;Mars/Olympus&quot;" in response.content.decode()
    assert "totals" not in response.context


@pytest.mark.parametrize("url", [CALENDAR, SLOT])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "2300-01-01"])
def test_a_day_far_from_today_is_a_form_error(admin_client, db, url, day):
    response = admin_client.get(reverse(url) + f"?day={day}&start=0&end=60")
    assert response.status_code == 200
    assert "Pick a day within 100 years of today." in response.content.decode()
    assert "totals" not in response.context


def test_more_tags_than_the_list_takes_are_a_form_error(admin_client, db):
    tags = ",".join(f"tag-{n}" for n in range(11))
    response = admin_client.get(calendar_url(tags=tags))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Filter by at most 10 tags at once (11 given; CATALOG_ADMIN_MAX_FILTER_TAGS)." in page
    assert "totals" not in response.context


def test_the_old_upcoming_address_leads_to_the_calendar(admin_client, db):
    response = admin_client.get(reverse("admin:catalog_deployment_upcoming") + "?zone=UTC")
    assert response.status_code == 302
    assert response["Location"] == reverse(CALENDAR) + "?zone=UTC"
    listing = admin_client.get(reverse("admin:catalog_deployment_changelist")).content.decode()
    assert f'href="{reverse(CALENDAR)}">Fleet calendar</a>' in listing


def page_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_the_calendar_takes_as_many_queries_for_ten_deployments_as_for_forty(
    admin_client, db, django_assert_num_queries
):
    url = calendar_url(day="2026-03-23", zone="Europe/Berlin")
    make_fleet(10)
    cold = page_queries(admin_client, url)
    warm = page_queries(admin_client, url)
    make_fleet(30, prefix="more")
    with django_assert_num_queries(cold):
        admin_client.get(url)
    with django_assert_num_queries(warm):
        response = admin_client.get(url)
    assert response.context["totals"]["schedules"] == 120
    assert response.context["totals"]["computed"] == 0
    # Rows written by factories stay marked as written outside the doors (they are not
    # recorded), so the definitions are grouped on every request here.
    assert warm == cold - 2


def test_a_slot_lists_its_deployments_fifty_a_page_with_links(
    admin_client, db, django_assert_num_queries
):
    made = make_fleet(55)
    DeploymentFactory(name="paused-one", paused=True)
    window = window_of(date(2026, 3, 23), 7, "UTC")
    # Monday 09:00-10:00 UTC: every weekday cron (09:00-09:02 Berlin is 08:00 UTC) is out,
    # each hourly interval is in.
    start = 9 * 60
    url = reverse(SLOT) + f"?day=2026-03-23&zone=UTC&from={start}&to={start + 60}"
    response = admin_client.get(url)
    page = response.content.decode()
    assert response.context["page"].paginator.count == 55
    assert page.count("/change/") == 50
    assert f"/admin/catalog/deployment/{made[0].pk}/change/" in page
    assert "Page 1 of 2" in page
    assert all(runs == 1 for _, runs in response.context["rows"])
    second = admin_client.get(url + "&page=2")
    assert len(second.context["rows"]) == 5
    queries = page_queries(admin_client, url)
    make_fleet(20, prefix="more")
    admin_client.get(url)
    with django_assert_num_queries(queries):
        admin_client.get(url)
    assert window.minutes == 7 * 1440


def test_a_minute_lists_only_the_deployments_firing_then(admin_client, db):
    make_fleet(6)
    # 08:01 UTC on a Monday in March is 09:01 in Berlin: the crons "1 9 * * 1-5".
    start = 8 * 60 + 1
    url = reverse(SLOT) + f"?day=2026-03-23&zone=UTC&from={start}&to={start + 1}"
    response = admin_client.get(url)
    names = [deployment.name for deployment, _ in response.context["rows"]]
    assert names == ["d-001", "d-004"]


@override_settings(CATALOG_SCHEDULE_BUDGET=1000)
def test_a_definition_too_costly_is_named_and_left_out(admin_client, db):
    make_fleet(2)
    DeploymentScheduleFactory(
        deployment=DeploymentFactory(name="busy"),
        schedule=IntervalSchedule(60.0, datetime(2026, 1, 1, tzinfo=UTC), "UTC"),
    )
    response = admin_client.get(calendar_url(day="2026-06-01"))
    page = response.content.decode()
    assert response.context["too_costly"]["count"] == 1
    assert "every 60 s (phase 0 s, UTC): 1 schedule" in page
    assert "CATALOG_SCHEDULE_BUDGET" in page
    window = window_of(date(2026, 6, 1), 7, "UTC")
    assert response.context["totals"]["runs"] == sum(brute_force(window, Filters())) - 7 * 24 * 60
    # Stored as too costly: the next page does not try again.
    again = admin_client.get(calendar_url(day="2026-06-01"))
    assert again.context["totals"]["computed"] == 0


@override_settings(CATALOG_CALENDAR_BUDGET=3000)
def test_the_page_budget_stops_the_expansions_and_says_so(admin_client, db):
    make_fleet(12)
    response = admin_client.get(calendar_url(day="2026-06-01"))
    page = response.content.decode()
    left = response.context["out_of_page_budget"]["count"]
    assert left > 0
    assert "CATALOG_CALENDAR_BUDGET" in page
    # What was found is kept: reloading counts more until every definition is in.
    for _ in range(20):
        response = admin_client.get(calendar_url(day="2026-06-01"))
        if not response.context["out_of_page_budget"]["count"]:
            break
    assert not response.context["out_of_page_budget"]["count"]
    window = window_of(date(2026, 6, 1), 7, "UTC")
    assert response.context["totals"]["runs"] == sum(brute_force(window, Filters()))


def test_expansions_stored_long_ago_are_deleted_when_new_ones_are_stored(db):
    old = CalendarExpansion.objects.create(
        key="old", stored=datetime(2020, 1, 1, tzinfo=UTC), minutes=b""
    )
    make_fleet(1)
    window = window_of(date(2026, 6, 1), 1, "UTC")
    groups = calendar_data.definition_groups(Filters(), 100)
    calendar_data.expansions_of(groups, window, BUDGET, 10**6, "TEST")
    assert not CalendarExpansion.objects.filter(pk=old.pk).exists()
    assert CalendarExpansion.objects.count() == len(groups) == 3


def test_the_calendar_follows_every_change_to_the_schedules(admin_client, db):
    from catalog.models import Deployment
    from catalog.services.history import record_writes_outside_the_doors

    make_fleet(3)
    record_writes_outside_the_doors("default")
    url = calendar_url(day="2026-06-01")
    before = admin_client.get(url).context["totals"]
    assert admin_client.get(url).context["totals"] == {**before, "computed": 0}
    DeploymentSchedule.objects.filter(slug="hourly").update(active=False)
    after = admin_client.get(url).context["totals"]
    assert after["schedules"] == before["schedules"] - 3
    assert after["runs"] == before["runs"] - 3 * 7 * 24
    Deployment.objects.filter(name="d-000").update(paused=True)
    assert admin_client.get(url).context["totals"]["schedules"] == after["schedules"] - 2


def test_recorded_definitions_are_grouped_once_until_something_changes(
    admin_client, db, django_assert_num_queries
):
    """A filtered calendar keeps its grouping until the history records a change."""
    from catalog.services.history import record_writes_outside_the_doors

    make_fleet(5, tags=["nightly"])
    record_writes_outside_the_doors("default")
    url = calendar_url(day="2026-06-01", tags="nightly")
    admin_client.get(url)
    # Session, user, work pools, the stamp, the stored groups, the stored expansions.
    with django_assert_num_queries(6):
        response = admin_client.get(url)
    assert response.context["totals"]["schedules"] == 15
    make_fleet(2, prefix="new", tags=["nightly"])
    assert admin_client.get(url).context["totals"]["schedules"] == 21


def test_the_unfiltered_calendar_reads_the_kept_counts_before_and_after_a_change(
    admin_client, db, django_assert_num_queries
):
    make_fleet(5)
    url = calendar_url(day="2026-06-01")
    admin_client.get(url)
    # Session, user, work pools, the definitions' counts, the stored expansions.
    with django_assert_num_queries(5):
        response = admin_client.get(url)
    assert response.context["totals"]["schedules"] == 15
    make_fleet(2, prefix="new")
    with django_assert_num_queries(5):
        response = admin_client.get(url)
    assert response.context["totals"]["schedules"] == 21
