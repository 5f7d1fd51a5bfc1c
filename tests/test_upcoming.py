"""The "Upcoming runs" admin page and its ORM-free core, `catalog.admin.timeline`.

The pure functions get explicit windows; the view's window starts at the current minute, so
its tests use schedules whose run count is the same in any minute-aligned week (hourly at
:00 gives 168) or compare with runs computed for the window the page reports.
"""

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin.timeline import (
    MAX_ROWS,
    ScheduleEntry,
    UpcomingRun,
    collect_runs,
    day_ticks,
    hot_spots,
    runs_between,
    timeline_svg,
)
from catalog.rules.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
from tests.factories import (
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkPoolFactory,
    WorkQueueFactory,
)

NEW_YORK = "America/New_York"
SVG = "{http://www.w3.org/2000/svg}"
HOURLY = IntervalSchedule(3600.0, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
START = datetime(2026, 11, 28, 16, 15, tzinfo=UTC)
END = START + timedelta(days=7)
# New York leaves daylight saving time on Sunday 2026-11-01 at 02:00 local time.
DST_START = datetime(2026, 10, 29, tzinfo=UTC)
DST_END = DST_START + timedelta(days=7)
UPCOMING = "catalog_deployment_upcoming"


def entry(schedule, name: str = "nightly", slug: str = "main", flow: str = "etl") -> ScheduleEntry:
    return ScheduleEntry(uuid.uuid4(), name, flow, slug, schedule)


def run(name: str, at: datetime, deployment_id: uuid.UUID | None = None) -> UpcomingRun:
    return UpcomingRun(deployment_id or uuid.uuid4(), name, "etl", "main", at)


def utc_times(runs: list[UpcomingRun]) -> list[str]:
    return [run.at.strftime("%a %m-%d %H:%M") for run in runs]


# Run times --------------------------------------------------------------------------------


def test_it_lists_every_run_of_an_interval_schedule_in_the_window():
    runs = runs_between([entry(HOURLY)], START, END)
    assert len(runs) == 168
    assert (runs[0].at, runs[-1].at) == (
        datetime(2026, 11, 28, 17, tzinfo=UTC),
        datetime(2026, 12, 5, 16, tzinfo=UTC),
    )
    assert all(run.at.tzinfo is UTC for run in runs)


def test_a_run_at_the_start_is_in_the_window_and_one_at_the_end_is_not():
    start = datetime(2026, 11, 28, 16, tzinfo=UTC)
    runs = runs_between([entry(HOURLY)], start, start + timedelta(hours=3))
    assert [run.at.hour for run in runs] == [16, 17, 18]


def test_a_new_york_cron_keeps_its_wall_clock_time_across_the_dst_change():
    runs = runs_between([entry(CronSchedule("0 9 * * *", NEW_YORK))], DST_START, DST_END)
    assert utc_times(runs) == [
        "Thu 10-29 13:00",
        "Fri 10-30 13:00",
        "Sat 10-31 13:00",
        "Sun 11-01 14:00",
        "Mon 11-02 14:00",
        "Tue 11-03 14:00",
        "Wed 11-04 14:00",
    ]


def test_a_new_york_rrule_keeps_its_wall_clock_time_across_the_dst_change():
    rule = RRuleSchedule("DTSTART:20260105T093000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR", NEW_YORK)
    runs = runs_between([entry(rule)], DST_START, DST_END)
    assert utc_times(runs) == ["Fri 10-30 13:30", "Mon 11-02 14:30", "Wed 11-04 14:30"]


def test_a_daily_new_york_interval_keeps_its_wall_clock_time_across_the_dst_change():
    daily = IntervalSchedule(86400.0, datetime(2026, 10, 1, 13, tzinfo=UTC), NEW_YORK)
    runs = runs_between([entry(daily)], DST_START, DST_END)
    assert utc_times(runs)[2:4] == ["Sat 10-31 13:00", "Sun 11-01 14:00"]
    assert len(runs) == 7


def test_it_merges_the_runs_of_several_schedules_earliest_first():
    entries = [entry(HOURLY, "hourly"), entry(CronSchedule("30 * * * *"), "half-past")]
    runs = runs_between(entries, START, START + timedelta(hours=2))
    assert [(run.deployment_name, run.at.strftime("%H:%M")) for run in runs] == [
        ("half-past", "16:30"),
        ("hourly", "17:00"),
        ("half-past", "17:30"),
        ("hourly", "18:00"),
    ]


def test_a_rule_that_has_ended_gives_no_runs():
    ended = RRuleSchedule("DTSTART:20260101T090000\nRRULE:FREQ=DAILY;COUNT=3", "UTC")
    assert runs_between([entry(ended)], START, END) == []


def test_it_stops_at_the_total_cap_and_says_so():
    window = collect_runs([entry(HOURLY, "a"), entry(HOURLY, "b")], START, END, limit=10)
    assert len(window.runs) == 10
    assert window.capped
    assert window.runs[-1].at == datetime(2026, 11, 28, 21, tzinfo=UTC)


def test_it_cuts_a_busy_schedule_short_and_names_it():
    every_minute = CronSchedule("* * * * *")
    window = collect_runs(
        [entry(every_minute, slug="busy"), entry(HOURLY)], START, END, per_schedule=200
    )
    assert len(window.runs) == 200 + 168
    assert window.capped
    assert window.cut_schedules == ("etl/nightly busy",)


def test_a_window_within_the_caps_is_not_capped():
    window = collect_runs([entry(HOURLY)], START, END)
    assert not window.capped
    assert window.cut_schedules == ()


# Hot spots --------------------------------------------------------------------------------


def test_it_finds_the_minutes_where_many_runs_start_busiest_first():
    nine, ten = datetime(2026, 11, 29, 9, tzinfo=UTC), datetime(2026, 11, 29, 10, tzinfo=UTC)
    runs = [run(f"d{i}", nine + timedelta(seconds=i)) for i in range(4)]
    runs += [run(f"e{i}", ten) for i in range(5)] + [run("lonely", ten + timedelta(minutes=1))]
    spots = hot_spots(runs)
    assert [(spot.minute, spot.count) for spot in spots] == [(ten, 5), (nine, 4)]
    assert spots[1].deployment_names == ("d0", "d1", "d2", "d3")
    assert spots[1].label == "4 runs at 2026-11-29 09:00 UTC"


def test_a_minute_below_the_threshold_is_no_hot_spot():
    at = datetime(2026, 11, 29, 9, tzinfo=UTC)
    runs = [run("a", at), run("b", at)]
    assert hot_spots(runs) == []
    assert [spot.count for spot in hot_spots(runs, threshold=2)] == [2]


def test_equally_busy_hot_spots_come_earliest_first():
    runs = [run("x", START + timedelta(hours=h)) for h in (2, 1) for _ in range(3)]
    assert [spot.minute.hour for spot in hot_spots(runs)] == [17, 18]


def test_a_deployment_is_named_once_in_a_hot_spot():
    deployment_id = uuid.uuid4()
    runs = [run("twice", START, deployment_id), run("twice", START, deployment_id), run("x", START)]
    assert hot_spots(runs)[0].deployment_names == ("twice", "x")


# The chart --------------------------------------------------------------------------------


def chart(runs: list[UpcomingRun]) -> ET.Element:
    return ET.fromstring(timeline_svg(runs, START, END, hot_spots(runs)))


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


def test_the_chart_is_well_formed_accessible_svg():
    root = chart(runs_between([entry(HOURLY)], START, END))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text.startswith("Upcoming runs from 2026-11-28 16:15 UTC")
    assert root.find(f"{SVG}desc").text.startswith("168 runs of 1 deployments")


def test_the_chart_escapes_a_deployment_name():
    hostile = '<script>&"'
    runs = [run(hostile, START + timedelta(minutes=5)) for _ in range(3)]
    svg = timeline_svg(runs, START, END, hot_spots(runs))
    root = ET.fromstring(svg)
    assert "<script>" not in svg
    assert "etl/" + hostile in texts(root)
    assert any(hostile in (title.text or "") for title in root.iter(f"{SVG}title"))


def test_the_chart_drops_characters_xml_cannot_hold():
    root = chart([run("bell\x07name", START)])
    assert "etl/bellname" in texts(root)


def test_the_chart_labels_each_utc_day():
    assert [day.day for day in day_ticks(START, END)] == [29, 30, 1, 2, 3, 4, 5]
    labels = texts(chart([]))
    assert "Sun 29 Nov" in labels
    assert "Sat 05 Dec" in labels


def test_the_chart_marks_hot_spots_with_a_tooltip():
    at = datetime(2026, 11, 29, 9, tzinfo=UTC)
    runs = [run(f"d{i}", at) for i in range(12)]
    titles = [title.text for title in chart(runs).iter(f"{SVG}title")]
    assert any(title.startswith("12 runs at 2026-11-29 09:00 UTC") for title in titles)


def test_the_chart_draws_one_row_per_deployment_busiest_first():
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    runs = [run("quiet", START, quiet)] + [
        run("busy", START + timedelta(hours=h), busy) for h in (1, 2)
    ]
    rows = chart(runs).findall(f".//{SVG}g[@class='row']")
    assert [row.find(f"{SVG}title").text for row in rows] == [
        "etl/busy: 2 runs",
        "etl/quiet: 1 runs",
    ]


def test_the_chart_caps_its_rows_and_says_how_many_more():
    runs = [run(f"d{i:02}", START + timedelta(minutes=i)) for i in range(MAX_ROWS + 5)]
    root = chart(runs)
    assert len(root.findall(f".//{SVG}g[@class='row']")) == MAX_ROWS
    assert "+5 more deployments" in texts(root)


def test_an_empty_chart_says_there_are_no_runs():
    assert "No runs in this window." in texts(chart([]))


# The page ---------------------------------------------------------------------------------

page = pytest.mark.urls("tests.upcoming_urls")


def upcoming_url(**params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return reverse(UPCOMING) + (f"?{query}" if query else "")


def listed(response) -> list[str]:
    return sorted(line.deployment_name for line in response.context_data["summaries"])


@pytest.fixture
def staff_client(client):
    def login(*codenames: str):
        user = User.objects.create_user("ops", password="pw", is_staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        client.force_login(user)
        return client

    return login


@page
@pytest.mark.django_db
def test_it_shows_the_page_to_staff_with_the_view_permission(staff_client):
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="nightly"))
    response = staff_client("view_deployment").get(upcoming_url())
    assert response.status_code == 200
    assert response.context_data["title"] == "Upcoming runs"
    assert listed(response) == ["nightly"]
    assert b"<svg" in response.content


@page
@pytest.mark.django_db
def test_it_refuses_staff_without_the_view_permission(staff_client):
    response = staff_client("view_flow").get(upcoming_url())
    assert response.status_code == 403


@page
@pytest.mark.django_db
def test_it_sends_an_anonymous_visitor_to_the_login(client):
    response = client.get(upcoming_url())
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@page
@pytest.mark.django_db
def test_it_has_breadcrumbs_back_to_the_deployments(admin_client):
    content = admin_client.get(upcoming_url()).content.decode()
    assert reverse("admin:catalog_deployment_changelist") in content
    assert "&rsaquo; Upcoming runs" in content


@page
@pytest.mark.django_db
def test_it_counts_runs_of_the_week_from_the_current_minute(admin_client):
    for name in ("a", "b", "c"):
        DeploymentScheduleFactory(deployment=DeploymentFactory(name=name), schedule=HOURLY)
    response = admin_client.get(upcoming_url())
    context = response.context_data
    assert context["counts"] == {
        "deployments": 3,
        "schedules": 3,
        "schedules_in_all": 3,
        "runs": 3 * 168,
    }
    assert context["end"] - context["start"] == timedelta(days=7)
    assert context["start"].second == context["start"].microsecond == 0
    assert context["hot_spot_count"] == 168
    assert context["hot_spots"][0].count == 3


@page
@pytest.mark.django_db
def test_its_runs_are_those_of_the_window_it_reports(admin_client):
    rows = [
        DeploymentScheduleFactory(schedule=CronSchedule("0 9 * * *", NEW_YORK)),
        DeploymentScheduleFactory(schedule=RRuleSchedule("RRULE:FREQ=HOURLY;INTERVAL=5", "UTC")),
    ]
    context = admin_client.get(upcoming_url()).context_data
    entries = [entry(row.schedule) for row in rows]
    expected = runs_between(entries, context["start"], context["end"])
    assert [run.at for run in context["window"].runs] == [run.at for run in expected]


@page
@pytest.mark.django_db
def test_it_leaves_out_paused_deployments_and_inactive_schedules(admin_client):
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="running"))
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="paused", paused=True))
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="inactive"), active=False)
    both = DeploymentFactory(name="one-active")
    DeploymentScheduleFactory(deployment=both)
    DeploymentScheduleFactory(deployment=both, active=False)
    response = admin_client.get(upcoming_url())
    assert listed(response) == ["one-active", "running"]
    assert response.context_data["counts"]["schedules"] == 2


@page
@pytest.mark.django_db
def test_it_filters_by_tag(admin_client):
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="tagged", tags=["nightly", "etl"]))
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="other", tags=["nightly-ish"]))
    assert listed(admin_client.get(upcoming_url(tag="nightly"))) == ["tagged"]


@page
@pytest.mark.django_db
def test_it_filters_by_work_pool(admin_client):
    pool = WorkPoolFactory(name="k8s")
    queue = WorkQueueFactory(work_pool=pool)
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="in-pool", work_queue=queue))
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="elsewhere"))
    assert listed(admin_client.get(upcoming_url(work_pool="k8s"))) == ["in-pool"]


@page
@pytest.mark.django_db
def test_it_filters_by_flow(admin_client):
    flow = FlowFactory()
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="mine", flow=flow))
    DeploymentScheduleFactory(deployment=DeploymentFactory(name="theirs"))
    assert listed(admin_client.get(upcoming_url(flow=flow.pk))) == ["mine"]


@page
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flow", "not-a-uuid"),
        ("flow", uuid.uuid4()),
        ("work_pool", "no-such-pool"),
        ("tag", "t" * 300),
    ],
)
def test_a_bad_filter_value_is_a_form_error(admin_client, field, value):
    response = admin_client.get(upcoming_url(**{field: value}))
    assert response.status_code == 200
    assert field in response.context_data["form"].errors
    assert "timeline" not in response.context_data


@page
@pytest.mark.django_db
def test_it_escapes_quotes_in_names_and_a_hostile_tag_on_the_page(admin_client):
    # The database refuses `< > &` in names, so quotes are what a name can smuggle in.
    DeploymentScheduleFactory(deployment=DeploymentFactory(name='it\'s "x"', tags=["<b>"]))
    content = admin_client.get(upcoming_url(tag="%3Cb%3E")).content.decode()
    assert 'it\'s "x"' not in content
    assert "it&#x27;s &quot;x&quot;" in content
    assert "<b>" not in content
    assert 'value="&lt;b&gt;"' in content


def build_deployments(count: int, pool_queue, flow) -> None:
    for _ in range(count):
        deployment = DeploymentFactory(tags=["nightly"], work_queue=pool_queue, flow=flow)
        DeploymentScheduleFactory(deployment=deployment, schedule=HOURLY)
        DeploymentScheduleFactory(deployment=deployment, schedule=CronSchedule("*/30 * * * *"))


def count_queries(client, url: str) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.context_data["counts"]


@page
@pytest.mark.django_db
def test_its_query_count_does_not_grow_with_the_deployments(admin_client):
    queue, flow = WorkQueueFactory(), FlowFactory()
    url = upcoming_url(tag="nightly", work_pool=queue.work_pool.name, flow=flow.pk)
    build_deployments(3, queue, flow)
    few, few_counts = count_queries(admin_client, url)
    build_deployments(27, queue, flow)
    many, many_counts = count_queries(admin_client, url)
    assert (few_counts["schedules"], many_counts["schedules"]) == (6, 60)
    assert few == many
