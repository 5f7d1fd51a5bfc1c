"""The deployment change page through Django's test client: the schedule preview endpoint
(permissions, answers, refusals within the schedule budget), the form's errors (JSON with
line and column, zones, schedules the calendar cannot hold), what the page renders, and
its query count (the browser tests are in test_admin_form_browser.py)."""

import html
import json
import re
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Deployment, DeploymentSchedule
from catalog.rules import schedules
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    WorkQueueFactory,
)
from tests.replay import database_fingerprint
from tests.test_admin import form_data

pytestmark = pytest.mark.django_db

PREVIEW = "admin:catalog_deployment_schedule_preview"
NOT_SCHEDULED = "these runs will not be scheduled"


def preview(client, **params):
    return client.get(reverse(PREVIEW), params)


@pytest.fixture
def full_deployment(reference_deployments) -> Deployment:
    return Deployment.objects.get(name="anchor-full")


def change_url(deployment: Deployment) -> str:
    return reverse("admin:catalog_deployment_change", args=[deployment.pk])


def row_index(deployment: Deployment, slug: str) -> int:
    rows = list(deployment.schedules.order_by("-updated"))
    return next(n for n, row in enumerate(rows) if row.slug == slug)


# Who may ask for a preview ------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login(client):
    response = preview(client, kind="cron", cron="* * * * *")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_user_who_is_not_staff_is_sent_to_the_login(client):
    user = User.objects.create_user("visitor", password="a-long-test-password")
    client.force_login(user)
    response = preview(client, kind="cron", cron="* * * * *")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_who_may_not_see_deployments_are_refused(client):
    client.force_login(User.objects.create_user("staff", is_staff=True))
    response = preview(client, kind="cron", cron="* * * * *")
    assert response.status_code == 403
    assert response.json() == {"error": "You may not view deployments.", "field": None}


def test_staff_who_may_view_deployments_get_the_preview(client):
    user = User.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_deployment"))
    client.force_login(user)
    assert preview(client, kind="cron", cron="* * * * *").status_code == 200


def test_the_preview_only_answers_get(admin_client):
    assert admin_client.post(reverse(PREVIEW), {"kind": "cron"}).status_code == 405


# What it answers --------------------------------------------------------------------------


def test_a_cron_previews_ten_runs_in_its_zone_and_in_utc(admin_client):
    response = preview(
        admin_client, kind="cron", cron="15 6 * * *", timezone="America/New_York", day_or="true"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["zone"], body["note"], len(body["runs"])) == ("America/New_York", None, 10)
    for run in body["runs"]:
        local = datetime.strptime(run["local"][:-4], "%a %Y-%m-%d %H:%M")
        utc = datetime.strptime(run["utc"], "%a %Y-%m-%d %H:%M UTC")
        assert local.strftime("%H:%M") == "06:15"
        offset = 5 if run["local"].endswith("EST") else 4
        assert utc - local == timedelta(hours=offset)


def test_an_interval_counts_from_its_anchor(admin_client):
    body = preview(
        admin_client,
        kind="interval",
        interval="PT90M",
        anchor_date="2026-01-05T09:00:00+01:00",
        timezone="Europe/Paris",
    ).json()
    times = [datetime.strptime(run["utc"], "%a %Y-%m-%d %H:%M UTC") for run in body["runs"]]
    assert body["zone"] == "Europe/Paris"
    assert {later - earlier for earlier, later in pairwise(times)} == {timedelta(minutes=90)}
    assert {time.minute for time in times} <= {0, 30}


def test_an_rrule_with_its_start_previews_in_its_zone(admin_client):
    body = preview(
        admin_client,
        kind="rrule",
        rrule="DTSTART:20260105T093000\nRRULE:FREQ=DAILY",
        timezone="Asia/Tokyo",
    ).json()
    assert body["zone"] == "Asia/Tokyo"
    assert [run["local"][-9:] for run in body["runs"]] == ["09:30 JST"] * 10
    assert [run["utc"][-9:] for run in body["runs"]] == ["00:30 UTC"] * 10


def test_a_blank_zone_is_the_kind_default_utc(admin_client):
    body = preview(admin_client, kind="cron", cron="0 12 * * *").json()
    assert body["zone"] == "UTC"
    assert all(run["local"] == run["utc"] for run in body["runs"])


@pytest.mark.parametrize(
    ("active", "paused", "note"),
    [
        ("true", "false", None),
        ("false", "false", f"inactive: {NOT_SCHEDULED}"),
        ("true", "true", f"deployment paused: {NOT_SCHEDULED}"),
        ("false", "true", f"inactive, and the deployment is paused: {NOT_SCHEDULED}"),
    ],
)
def test_runs_that_will_not_happen_are_marked(admin_client, active, paused, note):
    body = preview(admin_client, kind="cron", cron="0 * * * *", active=active, paused=paused)
    assert body.json()["note"] == note
    assert len(body.json()["runs"]) == 10


# What it refuses ---------------------------------------------------------------------------

COSTLY_RRULE = "DTSTART:19000101T000000\nRRULE:FREQ=SECONDLY;COUNT=100000000"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"kind": "cron", "cron": "not a cron"}, "cron", 'Invalid cron string: "not a cron"'),
        ({"kind": "cron", "cron": "0 0 30 2 *"}, "cron", "Cron expression never fires"),
        ({"kind": "cron", "cron": "0 0 * * *\x00"}, "cron", "Invalid cron string"),
        ({"kind": "cron"}, "cron", "This field is required for this kind of schedule."),
        ({"kind": "weekly"}, "kind", "Choose interval, cron or rrule."),
        (
            {"kind": "cron", "cron": "* * * * *", "timezone": "Mars/Olympus"},
            "timezone",
            "Invalid timezone",
        ),
        ({"kind": "cron", "cron": "* * * * *", "timezone": "\x00"}, "timezone", "Invalid timezone"),
        (
            {"kind": "interval", "interval": "1e300"},
            "interval",
            "Input should be a valid timedelta",
        ),
        ({"kind": "interval", "interval": "-5"}, "interval", "interval must be positive"),
        (
            {"kind": "interval", "interval": "1e11", "anchor_date": "2200-01-01T00:00:00Z"},
            "interval",
            "its run times fall outside the years 1 to 9999",
        ),
        ({"kind": "interval", "interval": "60", "anchor_date": "yesterday"}, "anchor_date", ""),
        (
            {
                "kind": "interval",
                "interval": "60",
                "anchor_date": "0001-01-01T00:00:00Z",
                "timezone": "Pacific/Kiritimati",
            },
            "interval",
            "its run times fall outside the years 1 to 9999",
        ),
        (
            {"kind": "rrule", "rrule": COSTLY_RRULE},
            "rrule",
            "takes more than 100,000 steps (CATALOG_SCHEDULE_BUDGET)",
        ),
        (
            {"kind": "rrule", "rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"},
            "rrule",
            "it fires no more within 100 years (CATALOG_SCHEDULE_HORIZON_YEARS)",
        ),
        ({"kind": "rrule", "rrule": "garbage;;;"}, "rrule", 'Invalid RRule string "garbage;;;"'),
        ({"kind": "rrule", "rrule": "FREQ=DAILY;" * 700}, None, "rrule: at most 6,500 characters."),
    ],
)
def test_bad_or_costly_input_is_a_400_saying_why(admin_client, params, field, message):
    response = preview(admin_client, **params)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"] and body["field"] == field
    assert body["error"]


def test_a_huge_interval_shows_only_the_runs_within_the_horizon(admin_client):
    """Anchored now, an interval of 3,169 years runs now, then past the horizon."""
    response = preview(admin_client, kind="interval", interval="1e11")
    assert response.status_code == 200
    assert len(response.json()["runs"]) == 1
    response = preview(
        admin_client, kind="interval", interval="1e11", anchor_date="2026-01-05T09:00:00Z"
    )
    assert response.status_code == 400
    assert "it fires no more within 100 years" in response.json()["error"]


def test_the_preview_has_the_budget_of_every_schedule_evaluation(admin_client, settings):
    rrule = "DTSTART:20200101T000000\nRRULE:FREQ=DAILY;COUNT=5000"
    assert preview(admin_client, kind="rrule", rrule=rrule).status_code == 200
    settings.CATALOG_SCHEDULE_BUDGET = 2_000
    response = preview(admin_client, kind="rrule", rrule=rrule)
    assert response.status_code == 400
    assert "takes more than 2,000 steps (CATALOG_SCHEDULE_BUDGET)" in response.json()["error"]


def test_the_preview_has_the_page_budget_too(admin_client, settings):
    settings.CATALOG_SCHEDULE_PAGE_BUDGET = 1_000
    rrule = "DTSTART:20200101T000000\nRRULE:FREQ=DAILY;COUNT=5000"
    response = preview(admin_client, kind="rrule", rrule=rrule)
    assert response.status_code == 400
    assert "(CATALOG_SCHEDULE_PAGE_BUDGET)" in response.json()["error"]


def test_the_preview_reads_nothing_of_the_catalog(admin_client, full_deployment):
    with CaptureQueriesContext(connection) as captured:
        assert preview(admin_client, kind="cron", cron="0 * * * *").status_code == 200
    assert not [query for query in captured if "catalog_" in query["sql"]]


# The form's errors ------------------------------------------------------------------------


def post(client, deployment, **changes):
    return client.post(change_url(deployment), form_data(deployment, **changes))


def test_a_json_syntax_error_names_its_line_and_column(admin_client, full_deployment):
    before = database_fingerprint()
    response = post(admin_client, full_deployment, job_variables='{\n  "env": {}\n  "x": 1\n}')
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["job_variables"] == [
        "Enter valid JSON: line 3, column 3: Expecting ',' delimiter."
    ]
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1,}', "line 1, column 9: Expecting property name enclosed in double quotes"),
        ('{"a": "b\nc"}', "line 1, column 9: Invalid control character"),
        ('{"a": "b', "line 1, column 7: Unterminated string"),
        ("{}\n{}", "line 2, column 1: Extra data"),
        ("[1,\r\n 2,\r\n]", "line 3, column 1: Expecting value"),
    ],
)
def test_each_syntax_error_is_named_in_the_browsers_words(
    admin_client, full_deployment, text, message
):
    response = post(admin_client, full_deployment, pull_steps=text)
    assert response.context["adminform"].form.errors["pull_steps"] == [
        f"Enter valid JSON: {message}."
    ]


def test_a_schedules_parameters_error_names_its_line_too(admin_client, full_deployment):
    n = row_index(full_deployment, "hourly-interval")
    response = post(admin_client, full_deployment, **{f"schedules-{n}-parameters": "{\n  x\n}"})
    errors = response.context["inline_admin_formsets"][0].formset.errors[n]
    assert errors["parameters"] == [
        "Enter valid JSON: line 2, column 3: Expecting property name enclosed in double quotes."
    ]


def test_an_unknown_zone_is_a_form_error_and_nothing_changes(admin_client, full_deployment):
    n = row_index(full_deployment, "first-monday-cron")
    before = database_fingerprint()
    response = post(admin_client, full_deployment, **{f"schedules-{n}-timezone": "Mars/Olympus"})
    errors = response.context["inline_admin_formsets"][0].formset.errors[n]
    assert errors["timezone"][0].startswith('Invalid timezone: "Mars/Olympus"')
    assert database_fingerprint() == before


def test_a_zone_typed_with_spaces_or_left_blank_is_saved(admin_client, full_deployment):
    n = row_index(full_deployment, "first-monday-cron")
    response = post(admin_client, full_deployment, **{f"schedules-{n}-timezone": " Asia/Tokyo "})
    assert response.status_code == 302
    assert DeploymentSchedule.objects.get(slug="first-monday-cron").timezone == "Asia/Tokyo"
    n = row_index(full_deployment, "first-monday-cron")
    response = post(admin_client, full_deployment, **{f"schedules-{n}-timezone": ""})
    assert response.status_code == 302
    assert DeploymentSchedule.objects.get(slug="first-monday-cron").timezone is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"interval": "1e300"}, "interval", "Input should be a valid timedelta"),
        (
            {"anchor_date": "0001-01-01T00:00:00Z", "timezone": "Pacific/Kiritimati"},
            "interval",
            "Invalid interval: its run times fall outside the years 1 to 9999",
        ),
    ],
)
def test_a_schedule_the_calendar_cannot_hold_is_a_form_error(
    admin_client, full_deployment, changes, field, message
):
    n = row_index(full_deployment, "hourly-interval")
    before = database_fingerprint()
    data = {f"schedules-{n}-{name}": value for name, value in changes.items()}
    response = post(admin_client, full_deployment, **data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.errors[n]
    assert errors[field] == [message]
    assert database_fingerprint() == before


# What the page shows ----------------------------------------------------------------------


def page_of(client, deployment) -> str:
    response = client.get(change_url(deployment))
    assert response.status_code == 200
    return response.content.decode()


def test_short_fields_are_one_line_inputs(admin_client, full_deployment):
    content = page_of(admin_client, full_deployment)
    for name in ("entrypoint", "path", "version", "name"):
        assert re.search(rf'<input type="text" name="{name}"', content), name
        assert f'<textarea name="{name}"' not in content
    assert re.search(r'<input type="text" name="schedules-\d-cron"', content)


def test_the_zones_are_offered_once_for_every_schedule(admin_client, full_deployment):
    content = page_of(admin_client, full_deployment)
    assert content.count("<datalist") == 1
    offered = re.findall(r'<option value="([^"]+)">', content.split("<datalist", 1)[1])
    assert set(schedules.timezone_choices()) <= set(offered)
    assert content.count('list="catalog-timezones"') == 4  # three schedules and the template


def test_the_saved_runs_name_the_zone_and_utc_and_mark_an_inactive_schedule(
    admin_client, full_deployment
):
    content = page_of(admin_client, full_deployment)
    assert content.count("<th>America/New_York</th><th>UTC</th>") == 3
    assert content.count(" UTC</td></tr>") == 30
    assert content.count(f'<p class="schedule-not-running">inactive: {NOT_SCHEDULED}</p>') == 1
    assert "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9" in content
    assert "OR, as standard cron" in content


def test_a_paused_deployment_marks_every_schedule(admin_client, full_deployment):
    full_deployment.paused = True
    full_deployment.save()
    content = page_of(admin_client, full_deployment)
    assert content.count(f"deployment paused: {NOT_SCHEDULED}") == 2
    assert content.count(f"inactive, and the deployment is paused: {NOT_SCHEDULED}") == 1


def test_the_api_panel_is_indented_in_the_apis_order_with_a_number_for_each_line(
    admin_client, api_client, full_deployment
):
    content = page_of(admin_client, full_deployment)
    text = html.unescape(re.search(r'<pre class="json-text">(.*?)</pre>', content, re.S)[1])
    numbers = re.search(r'<pre class="json-gutter" aria-hidden="true">(.*?)</pre>', content, re.S)
    api_body = api_client.get(f"/api/deployments/{full_deployment.pk}").content
    assert json.loads(text, object_pairs_hook=list) == json.loads(api_body, object_pairs_hook=list)
    assert numbers[1].split("\n") == [str(n) for n in range(1, text.count("\n") + 2)]
    assert max(len(line) for line in text.split("\n")) < 200
    assert '<button type="button" class="button json-copy">Copy</button>' in content


def test_the_page_loads_nothing_from_another_host(admin_client, full_deployment):
    content = page_of(admin_client, full_deployment)
    sources = re.findall(r'(?:src|href)="([^"]+)"', content)
    assert not [source for source in sources if source.startswith(("http:", "https:", "//"))]
    for name in ("json_editor.js", "json_editor.css", "json_panel.js", "schedule_inline.js"):
        assert f"/static/catalog/{name}" in content


# Queries ------------------------------------------------------------------------------------


def queries_for(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured]


def test_the_change_page_queries_do_not_grow_with_the_catalog(admin_client, full_deployment):
    url = change_url(full_deployment)
    few = queries_for(admin_client, url)
    for deployment in DeploymentFactory.create_batch(
        40, work_queue=WorkQueueFactory(), global_concurrency_limit=ConcurrencyLimitFactory()
    ):
        DeploymentScheduleFactory.create_batch(3, deployment=deployment)
    many = queries_for(admin_client, url)
    assert len(many) == len(few)
    # Each query names the deployment (or reads a table the page shows one row of).
    assert not [sql for sql in many if "catalog_deployment" in sql and "WHERE" not in sql]


# New schedules ----------------------------------------------------------------------------


def new_schedule(n: int, **fields) -> dict:
    values = {"kind": "cron", "cron": "0 6 * * *", "timezone": "", "active": "on"}
    values.update(fields, parameters="{}", day_or="on")
    return {f"schedules-{n}-{name}": value for name, value in values.items()}


def test_a_schedule_added_to_a_deployment_is_saved(admin_client, full_deployment):
    data = form_data(full_deployment)
    data.update(
        new_schedule(3, slug="added", timezone="Asia/Tokyo"), **{"schedules-TOTAL_FORMS": "4"}
    )
    response = admin_client.post(change_url(full_deployment), data)
    assert response.status_code == 302
    added = DeploymentSchedule.objects.get(slug="added")
    assert (added.deployment_id, added.cron, added.timezone) == (
        full_deployment.pk,
        "0 6 * * *",
        "Asia/Tokyo",
    )


def test_a_new_deployment_is_saved_with_its_schedule(admin_client, full_deployment):
    data = form_data(Deployment(name="with-schedule", flow=full_deployment.flow, labels={}))
    data.update(new_schedule(0, slug="first"), **{"schedules-TOTAL_FORMS": "1"})
    response = admin_client.post(reverse("admin:catalog_deployment_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    schedule = DeploymentSchedule.objects.get(deployment__name="with-schedule")
    assert (schedule.slug, schedule.cron, schedule.timezone) == ("first", "0 6 * * *", None)


def test_the_add_page_offers_the_zones_and_a_preview_for_a_new_schedule(admin_client):
    response = admin_client.get(reverse("admin:catalog_deployment_add"))
    content = response.content.decode()
    assert content.count("<datalist") == 1
    assert f'data-preview-url="{reverse(PREVIEW)}"' in content


# The rules behind the form and the preview -------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "anchor", "zone", "message"),
    [
        ("1e300", "2026-01-05T09:00:00Z", "UTC", "Input should be a valid timedelta"),
        (
            "60",
            "0001-01-01T00:00:00Z",
            "Pacific/Kiritimati",
            "Invalid interval: its run times fall outside the years 1 to 9999",
        ),
        (
            "P99999999D",
            "0001-01-01T00:00:00Z",
            "UTC",
            "Invalid interval: its run times fall outside the years 1 to 9999",
        ),
    ],
)
def test_every_door_refuses_an_interval_the_calendar_cannot_hold(interval, anchor, zone, message):
    """A ScheduleError (a 422, a form error, an import error), no longer an OverflowError."""
    from catalog.services.schedules import check_affordable

    with pytest.raises(schedules.ScheduleError, match=re.escape(message)):
        schedule = schedules.make_interval_schedule(
            interval=interval, anchor_date=anchor, timezone=zone
        )
        check_affordable(schedule)


def test_the_api_refuses_it_too(api_client, full_deployment):
    body = {
        "schedule": {
            "interval": 60,
            "anchor_date": "0001-01-01T00:00:00Z",
            "timezone": "Pacific/Kiritimati",
        }
    }
    response = api_client.post(
        f"/api/deployments/{full_deployment.pk}/schedules", [body], format="json"
    )
    assert response.status_code == 422
    assert "outside the years 1 to 9999" in response.content.decode()
