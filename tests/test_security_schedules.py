"""The schedule budget: rules whose run times cost without limit are refused by every
door, and rows stored before the budget existed cannot hang a page.

Every costly case runs with the production budget (`CATALOG_SCHEDULE_BUDGET`'s default)
and asserts the budget stopped it: the error names the budget, or the step meter reached
it. Nothing here measures wall time.
"""

import bisect
import contextlib
import json
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import DeploymentSchedule
from catalog.rules import schedule_runs, schedules
from catalog.rules.schedule_budget import (
    DEFAULT_HORIZON_YEARS,
    DEFAULT_STEP_BUDGET,
    TOO_COSTLY,
    ScheduleBudgetExceeded,
    StepMeter,
    page_budget,
)
from catalog.rules.schedule_runs import RUNS_CHECKED_ON_WRITE, next_runs
from catalog.rules.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
)
from tests.factories import DeploymentFactory, DeploymentScheduleFactory, FlowFactory
from tests.replay import database_fingerprint
from tests.test_write_doors import DOORS, Rows, schedule

pytestmark = pytest.mark.django_db

BUDGET = DEFAULT_STEP_BUDGET
COUNT_FROM_2025 = "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY;COUNT=2000000000"
CANCELLED = "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY\nEXRULE:FREQ=SECONDLY"
NEVER_FIRES = "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30"
ISSUE_CASES = {"count": COUNT_FROM_2025, "exrule": CANCELLED, "never-fires": NEVER_FIRES}
DAILY = "DTSTART:20260101T090000\nRRULE:FREQ=DAILY"
PAST_BUDGET = f"finding its next runs takes more than {BUDGET:,} steps (CATALOG_SCHEDULE_BUDGET)"
NOW = datetime(2026, 5, 1, tzinfo=UTC)


def costly_message(rule: str) -> str:
    return f'Invalid RRule string "{rule}": {PAST_BUDGET}'


def counted_rule(count: int) -> str:
    """A secondly rule that ran out in 2020: checking it walks all `count` occurrences."""
    return f"DTSTART:20200101T000000\nRRULE:FREQ=SECONDLY;COUNT={count}"


def steps_to_check(rule: str, limit: int = 10**9) -> int:
    """The steps the write check spends on an rrule (stopping a step past `limit`)."""
    meter = StepMeter(limit)
    with contextlib.suppress(ScheduleBudgetExceeded):
        next_runs(RRuleSchedule(rule, "UTC"), NOW, RUNS_CHECKED_ON_WRITE, meter)
    return meter.spent


def post_json(client, path: str, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def api_messages(response) -> list[str]:
    return [error["msg"] for error in response.json()["exception_detail"]]


@pytest.fixture
def rows() -> Rows:
    flow = FlowFactory(name="budget-flow")
    return Rows(flow, DeploymentFactory(flow=flow, name="budget-existing"), None)


# The settings ---------------------------------------------------------------------------


def test_it_reads_the_budget_and_the_horizon_from_the_settings():
    assert settings.CATALOG_SCHEDULE_BUDGET == BUDGET == 100_000
    assert settings.CATALOG_SCHEDULE_HORIZON_YEARS == DEFAULT_HORIZON_YEARS == 100


# The issue's cases, through every door --------------------------------------------------


@pytest.mark.parametrize("case", ISSUE_CASES)
def test_the_budget_is_what_stops_each_issue_case(case):
    assert steps_to_check(ISSUE_CASES[case], BUDGET) == BUDGET + 1


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("case", ISSUE_CASES)
def test_every_door_refuses_each_issue_case_and_stores_nothing(request, rows, case, door):
    rule = ISSUE_CASES[case]
    through = DOORS[door](request, rows)
    refused = schedule(f"costly-{case}", "rrule", rule, DAILY, rule={})
    before = database_fingerprint()
    answer = through.send(refused, rule)
    assert through.refusal(answer, refused) is None
    assert database_fingerprint() == before
    text = answer if door == "importer" else answer.content.decode()
    assert "CATALOG_SCHEDULE_BUDGET" in text


@pytest.mark.parametrize("case", ISSUE_CASES)
def test_the_api_names_the_rrule_and_the_budget(api_client, rows, case):
    entry = {"schedule": {"rrule": ISSUE_CASES[case]}}
    body = {"name": "x", "flow_id": str(rows.flow.id), "schedules": [entry]}
    response = post_json(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    [error] = response.json()["exception_detail"]
    assert error["loc"] == ["body", "schedules", 0, "schedule", "rrule"]
    assert error["msg"] == costly_message(ISSUE_CASES[case])
    assert not DeploymentSchedule.objects.exists()


def test_the_schedules_route_refuses_a_costly_rule(api_client, rows):
    before = database_fingerprint()
    path = f"/api/deployments/{rows.deployment.id}/schedules"
    response = post_json(api_client, path, [{"schedule": {"rrule": CANCELLED}}])
    assert response.status_code == 422
    assert api_messages(response) == [costly_message(CANCELLED)]
    assert database_fingerprint() == before


def test_a_schedule_patch_to_a_costly_rule_changes_nothing(api_client, rows):
    row = DeploymentScheduleFactory(deployment=rows.deployment)
    before = database_fingerprint()
    path = f"/api/deployments/{rows.deployment.id}/schedules/{row.id}"
    body = json.dumps({"schedule": {"rrule": COUNT_FROM_2025}})
    response = api_client.patch(path, body, content_type="application/json")
    assert response.status_code == 422
    assert api_messages(response) == [costly_message(COUNT_FROM_2025)]
    assert database_fingerprint() == before


# Just under and just past the budget ----------------------------------------------------


def largest_count_within_budget() -> int:
    """The largest COUNT whose check fits the budget (the steps grow with the count)."""
    key = lambda count: steps_to_check(counted_rule(count), BUDGET)  # noqa: E731
    return bisect.bisect_right(range(BUDGET), BUDGET, key=key) - 1


def test_a_rule_just_under_the_budget_is_stored_and_one_just_past_it_refused(api_client, rows):
    count = largest_count_within_budget()
    assert steps_to_check(counted_rule(count)) <= BUDGET < steps_to_check(counted_rule(count + 1))
    path = f"/api/deployments/{rows.deployment.id}/schedules"
    past = post_json(api_client, path, [{"schedule": {"rrule": counted_rule(count + 1)}}])
    assert past.status_code == 422
    assert api_messages(past) == [costly_message(counted_rule(count + 1))]
    under = post_json(api_client, path, [{"schedule": {"rrule": counted_rule(count)}}])
    assert under.status_code == 201
    assert DeploymentSchedule.objects.get().rrule == counted_rule(count)


# The horizon, and rules that have run out -----------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "DTSTART:20250101T000000\nRRULE:FREQ=YEARLY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=30",
        "DTSTART:20250101T000000\nRRULE:FREQ=YEARLY;INTERVAL=200",
    ],
)
def test_a_cheap_rule_that_fires_nothing_within_the_horizon_is_refused(api_client, rows, rule):
    path = f"/api/deployments/{rows.deployment.id}/schedules"
    response = post_json(api_client, path, [{"schedule": {"rrule": rule}}])
    assert response.status_code == 422
    assert api_messages(response) == [
        f'Invalid RRule string "{rule}": it fires no more within 100 years '
        "(CATALOG_SCHEDULE_HORIZON_YEARS)"
    ]
    assert not DeploymentSchedule.objects.exists()


def test_an_interval_longer_than_the_horizon_is_refused():
    century = 101 * 366 * 86400.0
    schedule = IntervalSchedule(century, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
    with pytest.raises(schedules.ScheduleError) as error:
        schedule_runs.check_runs_affordable(schedule, NOW)
    assert error.value.field == "interval"
    assert "fires no more within 100 years" in error.value.message


@pytest.mark.parametrize(
    "rule",
    [
        "DTSTART:20200101T000000\nRRULE:FREQ=SECONDLY;UNTIL=20200102T000000",
        "DTSTART:20200101T000000\nRRULE:FREQ=DAILY;COUNT=10",
        "DTSTART:20200101T000000\nRRULE:FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30;UNTIL=20200105",
    ],
)
def test_a_rule_that_has_run_out_is_still_accepted(api_client, rows, rule):
    path = f"/api/deployments/{rows.deployment.id}/schedules"
    response = post_json(api_client, path, [{"schedule": {"rrule": rule}}])
    assert response.status_code == 201
    assert DeploymentSchedule.objects.get().rrule == rule


def test_a_cron_that_fires_once_in_decades_is_accepted():
    schedule_runs.check_runs_affordable(CronSchedule("0 0 29 2 1", "UTC", False), NOW)


# Cron and intervals are metered too ------------------------------------------------------


def test_a_cron_search_stops_at_the_budget():
    cron = CronSchedule("0 0 29 2 1", "UTC", False)
    with pytest.raises(ScheduleBudgetExceeded) as error:
        next_runs(cron, NOW, 10, 1000)
    assert error.value.budget == 1000
    assert str(error.value) == "finding its next runs takes more than 1,000 steps " + (
        "(CATALOG_SCHEDULE_BUDGET)"
    )


def test_interval_runs_count_one_step_each():
    interval = IntervalSchedule(60.0, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
    meter = StepMeter(10)
    assert len(next_runs(interval, NOW, 10, meter)) == 10
    assert meter.spent == 10
    with pytest.raises(ScheduleBudgetExceeded):
        next_runs(interval, NOW, 11, 10)


# Starting near the moment asked about ----------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "zone_name"),
    [
        ("DTSTART:20200101T093000\nRRULE:FREQ=DAILY", "America/New_York"),
        ("DTSTART:20200102T020000\nRRULE:FREQ=DAILY;INTERVAL=3;BYMONTH=3,11", "Europe/Paris"),
        ("DTSTART:20200108T091500\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,SU", "UTC"),
        ("DTSTART:20200131T090000\nRRULE:FREQ=MONTHLY", "Europe/Berlin"),
        ("DTSTART:20200101T090000\nRRULE:FREQ=MONTHLY;INTERVAL=5;BYDAY=-1FR", "UTC"),
        ("DTSTART:20200229T120000\nRRULE:FREQ=YEARLY", "UTC"),
        ("DTSTART:20200101T000000\nRRULE:FREQ=HOURLY\nEXRULE:FREQ=DAILY;BYHOUR=0,12", "UTC"),
    ],
)
@pytest.mark.parametrize("after", [NOW, datetime(2026, 11, 1, 6, 30, tzinfo=UTC)])
def test_a_rule_started_near_the_moment_gives_the_runs_of_a_walk_from_its_start(
    rule, zone_name, after
):
    walked = schedule_runs.localized_rrule(rule, schedules.zone(zone_name)).xafter(
        after, count=12, inc=True
    )
    assert next_runs(RRuleSchedule(rule, zone_name), after, 12) == list(walked)


def test_a_daily_rule_from_long_ago_costs_little():
    assert steps_to_check("DTSTART:19000101T090000\nRRULE:FREQ=DAILY") < 100


# Rows stored before the budget existed ---------------------------------------------------


@pytest.fixture
def stored_costly(rows) -> list[DeploymentSchedule]:
    """Rows written with a cheap rule, then given the issue's rules behind the core's back."""
    made = [
        DeploymentScheduleFactory(
            deployment=DeploymentFactory(flow=rows.flow, name=f"costly-{case}"),
            schedule=RRuleSchedule(DAILY, "UTC"),
            slug=case,
        )
        for case in ISSUE_CASES
    ]
    for row, rule in zip(made, ISSUE_CASES.values(), strict=True):
        DeploymentSchedule.objects.filter(pk=row.pk).update(rrule=rule)
    return made


def page_queries(client, url: str) -> int:
    """The queries of a page after a first visit (which may save the session)."""
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_a_stored_costly_row_raises_the_budget_error_when_read(stored_costly):
    row = DeploymentSchedule.objects.get(pk=stored_costly[0].pk)
    with pytest.raises(ScheduleBudgetExceeded) as error:
        row.next_runs(NOW, 1)
    assert error.value.budget == BUDGET
    assert row.shown_next_runs(NOW, 1) == TOO_COSTLY


def test_the_deployment_list_marks_costly_rows_in_the_same_queries(
    admin_client, rows, stored_costly, django_assert_num_queries
):
    url = reverse("admin:catalog_deployment_changelist")
    DeploymentSchedule.objects.filter(rrule__in=ISSUE_CASES.values()).update(rrule=DAILY)
    cheap = page_queries(admin_client, url)
    for row, rule in zip(stored_costly, ISSUE_CASES.values(), strict=True):
        DeploymentSchedule.objects.filter(pk=row.pk).update(rrule=rule)
    with django_assert_num_queries(cheap):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.content.decode().count(TOO_COSTLY) == len(ISSUE_CASES)


def test_the_change_page_marks_a_costly_row(admin_client, stored_costly):
    deployment = stored_costly[1].deployment
    url = reverse("admin:catalog_deployment_change", args=[deployment.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert TOO_COSTLY in response.content.decode()


# One budget for a whole page ------------------------------------------------------------

PAGE_BUDGET = settings.CATALOG_SCHEDULE_PAGE_BUDGET


@pytest.fixture
def many_stored_costly(rows) -> list[DeploymentSchedule]:
    made = [
        DeploymentScheduleFactory(
            deployment=DeploymentFactory(flow=rows.flow, name=f"costly-{number}"),
            schedule=RRuleSchedule(DAILY, "UTC"),
            slug=f"costly-{number}",
        )
        for number in range(10)
    ]
    DeploymentSchedule.objects.filter(pk__in=[row.pk for row in made]).update(rrule=NEVER_FIRES)
    return made


def test_the_schedules_of_one_page_share_the_page_budget(many_stored_costly):
    rows = DeploymentSchedule.objects.filter(pk__in=[row.pk for row in many_stored_costly])
    with page_budget(PAGE_BUDGET) as page:
        shown = [row.shown_next_runs(NOW, 1) for row in rows]
    assert shown == [TOO_COSTLY] * len(many_stored_costly)
    # Ten rows each as costly as the per-schedule budget cost the page's budget in all.
    assert BUDGET * len(many_stored_costly) > PAGE_BUDGET
    # Past it, each further schedule stops at its first charge (a few steps at most).
    assert PAGE_BUDGET < page.spent <= PAGE_BUDGET + 10 * len(many_stored_costly)


def test_a_cheap_schedule_after_the_page_budget_ran_out_is_marked_too(many_stored_costly, rows):
    cheap = DeploymentScheduleFactory(
        deployment=DeploymentFactory(flow=rows.flow, name="cheap"),
        schedule=RRuleSchedule(DAILY, "UTC"),
    )
    costly = DeploymentSchedule.objects.filter(pk__in=[row.pk for row in many_stored_costly])
    with page_budget(PAGE_BUDGET):
        assert cheap.shown_next_runs(NOW, 1) != TOO_COSTLY
        for row in costly:
            row.shown_next_runs(NOW, 1)
        assert cheap.shown_next_runs(NOW, 1) == TOO_COSTLY
    assert cheap.shown_next_runs(NOW, 1) != TOO_COSTLY


def test_the_list_with_many_costly_rows_marks_them_all_within_the_page_budget(
    admin_client, many_stored_costly
):
    response = admin_client.get(reverse("admin:catalog_deployment_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count(TOO_COSTLY) == len(many_stored_costly)


# One budget for the schedules of one write ------------------------------------------------


def rule_costing(steps: int) -> str:
    """A COUNT rule whose write check takes about `steps` steps."""
    count = bisect.bisect_left(
        range(10**6), steps, key=lambda count: steps_to_check(counted_rule(count))
    )
    return counted_rule(count)


def test_the_schedules_of_one_write_share_the_page_budget(api_client, rows):
    rule = rule_costing(PAGE_BUDGET // 3 + 1000)
    assert steps_to_check(rule) < BUDGET
    entries = [{"schedule": {"rrule": rule}, "slug": f"s{n}"} for n in range(3)]
    before = database_fingerprint()
    body = {"name": "three-costly", "flow_id": str(rows.flow.id), "schedules": entries}
    response = post_json(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    [error] = response.json()["exception_detail"]
    assert error["loc"] == ["body", "schedules", 2, "schedule", "rrule"]
    assert error["msg"].endswith(
        f"finding the next runs of all the schedules read or written together takes more "
        f"than {PAGE_BUDGET:,} steps (CATALOG_SCHEDULE_PAGE_BUDGET)"
    )
    assert database_fingerprint() == before
    # Two of them fit.
    body = {"name": "two-costly", "flow_id": str(rows.flow.id), "schedules": entries[:2]}
    assert post_json(api_client, "/api/deployments/", body).status_code == 201


def test_the_importer_shares_the_page_budget_among_a_record_s_schedules(tmp_path, rows):
    rule = rule_costing(PAGE_BUDGET // 3 + 1000)
    record = {
        "name": "three-costly",
        "flow_id": str(rows.flow.id),
        "schedules": [{"schedule": {"rrule": rule}, "slug": f"s{n}"} for n in range(3)],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"deployments": [record]}))
    before = database_fingerprint()
    with pytest.raises(CommandError) as refused:
        call_command("import_deployments", str(path), "--quiet")
    assert "CATALOG_SCHEDULE_PAGE_BUDGET" in str(refused.value)
    assert database_fingerprint() == before
