"""The deployment list as ops read it (issue 16): zones in every schedule summary, a
paused/running badge, several tags at once, exports of every deployment the filters
match, actions that say when they changed nothing, and the landing page "View site"
leads to. Through Django's test client; the browser tests are in
test_admin_list_browser.py."""

import json
from datetime import UTC, datetime

import pytest
import yaml
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.importing.run import import_paths
from catalog.models import (
    ApiKey,
    ChangeSet,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    DeploymentStatus,
    Flow,
    Version,
)
from catalog.rules import schedule_summaries, schedules
from catalog.services.history import record_writes_outside_the_doors
from tests.factories import (
    ApiKeyFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:catalog_deployment_changelist"
LIST = "/admin/catalog/deployment/"


def export_url(format_name: str) -> str:
    return reverse("admin:catalog_deployment_export", args=[format_name])


def listed(response) -> list[str]:
    return sorted(row.name for row in response.context["cl"].result_list)


def only_message(page) -> str:
    (message,) = page.context["messages"]
    return str(message)


def history_counts() -> tuple[int, int, int]:
    """Versions, change sets and admin log entries: what a write would add to."""
    return Version.objects.count(), ChangeSet.objects.count(), LogEntry.objects.count()


@pytest.fixture
def settled():
    """Record what the factories wrote outside every door, so that only the test's own
    writes can add to the history."""

    def settle() -> tuple[int, int, int]:
        record_writes_outside_the_doors("default")
        return history_counts()

    return settle


# Schedule summaries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "summary"),
    [
        (
            schedules.IntervalSchedule(3600.0, datetime(2026, 1, 1, 9, tzinfo=UTC), None),
            "every 1 h from 09:00 UTC",
        ),
        (
            schedules.IntervalSchedule(
                900.0, datetime(2026, 1, 1, 14, tzinfo=UTC), "America/New_York"
            ),
            "every 15 min from 09:00 America/New_York",
        ),
        (schedules.CronSchedule("0 3 * * *", None, True), "cron 0 3 * * * (UTC)"),
        (
            schedules.CronSchedule("0 3 * * *", "Asia/Tokyo", True),
            "cron 0 3 * * * (Asia/Tokyo)",
        ),
        (
            schedules.RRuleSchedule("FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9;BYMINUTE=30", "Europe/Paris"),
            "rrule weekly MO,FR 09:30 (Europe/Paris)",
        ),
        (schedules.RRuleSchedule("FREQ=DAILY", None), "rrule daily (UTC)"),
        (
            schedules.RRuleSchedule(
                "DTSTART;TZID=America/Chicago:20260105T090000\nRRULE:FREQ=DAILY", None
            ),
            "rrule daily (America/Chicago)",
        ),
    ],
)
def test_every_schedule_summary_names_its_zone(schedule, summary):
    assert schedule_summaries.describe(schedule) == summary


def test_the_list_shows_each_summary_with_its_zone(admin_client):
    deployment = DeploymentFactory(name="weekly")
    rrule = schedules.RRuleSchedule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", "Europe/Berlin")
    DeploymentScheduleFactory(deployment=deployment, schedule=rrule)
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "rrule weekly MO 09:00 (Europe/Berlin)" in content


# Columns ----------------------------------------------------------------------------


def test_the_state_column_is_a_badge_with_a_word_not_an_icon(admin_client):
    DeploymentFactory(name="stopped", paused=True)
    DeploymentFactory(name="going", paused=False)
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert '<span class="state-badge state-paused">paused</span>' in content
    assert '<span class="state-badge state-running">running</span>' in content
    assert "icon-yes.svg" not in content and "icon-no.svg" not in content


def test_the_list_shows_the_columns_ops_read_most(admin_client):
    DeploymentFactory()
    headers = [
        column["text"] for column in admin_client.get(reverse(CHANGELIST)).context["result_headers"]
    ]
    assert headers[1:] == [
        "name",
        "flow",
        "schedule",
        "state",
        "pool / queue",
        "tags",
        "next run (UTC)",
        "updated (UTC)",
    ]


def test_a_long_value_is_cut_and_whole_in_its_tooltip(admin_client):
    queue = WorkQueueFactory(name="q" * 100)
    DeploymentFactory(work_queue=queue)
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    whole = f"{queue.work_pool.name} / {'q' * 100}"
    assert f'<span class="clip clip-pool" title="{whole}">{whole}</span>' in content


# Several tags at once -----------------------------------------------------------------


@pytest.fixture
def tagged():
    DeploymentFactory(name="both", tags=["etl", "crm"])
    DeploymentFactory(name="etl-only", tags=["etl"])
    DeploymentFactory(name="crm-only", tags=["crm", "x"])
    DeploymentFactory(name="comma", tags=["a,b"])
    DeploymentFactory(name="neither", tags=["ops"])


def test_two_tags_keep_the_deployments_with_both(admin_client, tagged):
    response = admin_client.get(LIST, {"tag": ["etl", "crm"]})
    assert listed(response) == ["both"]


def test_two_tags_matching_any_keep_the_deployments_with_either(admin_client, tagged):
    response = admin_client.get(LIST, {"tag": ["etl", "crm"], "tag_match": "any"})
    assert listed(response) == ["both", "crm-only", "etl-only"]


def test_one_tag_still_filters_as_before(admin_client, tagged):
    assert listed(admin_client.get(LIST, {"tag": "crm"})) == ["both", "crm-only"]


def test_a_tag_holding_a_comma_is_one_tag(admin_client, tagged):
    assert listed(admin_client.get(LIST, {"tag": "a,b"})) == ["comma"]


def test_the_tag_links_add_and_take_away_a_tag(admin_client, tagged):
    response = admin_client.get(LIST, {"tag": "etl"})
    tag_filter = next(spec for spec in response.context["cl"].filter_specs if spec.title == "tag")
    links = {
        choice["display"]: choice["query_string"]
        for choice in tag_filter.choices(response.context["cl"])
    }
    assert links["crm"] == "?tag=etl&tag=crm"
    assert links["etl"] == "?"
    assert links["match any"] == "?tag=etl&tag_match=any"
    assert links["All"] == "?"


def test_more_tags_than_the_budget_are_refused_with_a_message(admin_client, settings, tagged):
    settings.CATALOG_ADMIN_MAX_FILTER_TAGS = 2
    response = admin_client.get(LIST, {"tag": ["etl", "crm", "x"]}, follow=True)
    assert response.redirect_chain == [(f"{LIST}?e=1", 302)]
    message = only_message(response)
    assert "filter by at most 2 tags at once (3 given)." in message
    assert "The list is shown unfiltered." in message


def test_a_match_other_than_all_or_any_is_refused(admin_client, tagged):
    response = admin_client.get(LIST, {"tag": "etl", "tag_match": "some"}, follow=True)
    message = only_message(response)
    assert "tag_match is all or any, not 'some'." in message


def test_several_tags_with_counts_shown_still_filter(admin_client, tagged):
    response = admin_client.get(LIST, {"tag": ["etl", "crm"], "_facets": "True"})
    assert listed(response) == ["both"]


def queries_of(client, url: str, params: dict) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, params).status_code == 200
    return len(captured)


@pytest.mark.parametrize("match", ["all", "any"])
def test_the_tags_filter_takes_the_same_queries_whatever_the_rows(
    admin_client, django_assert_num_queries, match
):
    def add(count: int) -> None:
        for deployment in DeploymentFactory.create_batch(count, tags=["a", "b", "c"]):
            DeploymentScheduleFactory.create_batch(2, deployment=deployment)

    params = {"tag": ["a", "b"], "tag_match": match}
    add(2)
    few = queries_of(admin_client, LIST, params)
    add(20)
    cache.clear()
    with django_assert_num_queries(few):
        response = admin_client.get(LIST, params)
    assert len(response.context["cl"].result_list) == 22


# Exports ------------------------------------------------------------------------------


@pytest.fixture
def exportable():
    """60 deployments tagged "nightly" (more than a page of 50), some with schedules and a
    limit, and 5 others."""
    queue = WorkQueueFactory()
    rows = DeploymentFactory.create_batch(
        60, tags=["nightly"], work_queue=queue, parameters={"region": "eu"}
    )
    DeploymentScheduleFactory(deployment=rows[0])
    DeploymentScheduleFactory(
        deployment=rows[1], schedule=schedules.CronSchedule("0 3 * * *", "Europe/Berlin", True)
    )
    DeploymentFactory.create_batch(5, tags=["other"])
    return rows


def empty_the_deployments() -> None:
    for model in (Deployment, Flow, ConcurrencyLimit):
        model.objects.all().delete()


def test_export_all_matching_as_json_takes_every_page_and_re_imports(
    admin_client, exportable, tmp_path
):
    response = admin_client.get(export_url("json"), {"tag": "nightly"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="deployments-')
    bundle = json.loads(response.content)
    assert sorted(d["name"] for d in bundle["deployments"]) == sorted(d.name for d in exportable)
    path = tmp_path / "export.json"
    path.write_bytes(response.content)
    empty_the_deployments()
    assert import_paths([path]).created == 60
    again = admin_client.get(export_url("json"), {"tag": "nightly"})
    assert again.content == response.content


def test_export_all_matching_as_prefect_yaml_re_imports_with_the_importer(
    admin_client, exportable, tmp_path
):
    response = admin_client.get(export_url("yaml"), {"tag": "nightly"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    assert response["Content-Disposition"].startswith('attachment; filename="prefect-')
    document = yaml.safe_load(response.content)
    assert len(document["deployments"]) == 60
    path = tmp_path / "prefect.yaml"
    path.write_bytes(response.content)
    empty_the_deployments()  # the work pools stay: a prefect.yaml names them
    result = import_paths([path])
    assert (result.created, result.errors) == (60, 0)
    assert Deployment.objects.filter(tags=["nightly"]).count() == 60
    berlin = DeploymentSchedule.objects.get(deployment__name=exportable[1].name)
    assert berlin.schedule == schedules.CronSchedule("0 3 * * *", "Europe/Berlin", True)
    again = admin_client.get(export_url("yaml"), {"tag": "nightly"})
    assert again.content == response.content


def test_export_all_matching_follows_the_search_and_several_tags(admin_client, tagged):
    response = admin_client.get(export_url("yaml"), {"tag": ["etl", "crm"], "tag_match": "any"})
    names = sorted(entry["name"] for entry in yaml.safe_load(response.content)["deployments"])
    assert names == ["both", "crm-only", "etl-only"]
    response = admin_client.get(export_url("json"), {"q": "only"})
    assert sorted(d["name"] for d in json.loads(response.content)["deployments"]) == [
        "crm-only",
        "etl-only",
    ]


def test_more_matching_than_the_bound_exports_nothing_and_says_so(
    admin_client, settings, exportable
):
    settings.CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS = 59
    response = admin_client.get(export_url("json"), {"tag": "nightly"}, follow=True)
    assert response.redirect_chain == [(f"{LIST}?tag=nightly", 302)]
    message = only_message(response)
    assert message.startswith("More than 59 deployments match: an export from the admin")
    assert message.endswith("Nothing was exported.")
    settings.CATALOG_ADMIN_EXPORT_MAX_DEPLOYMENTS = 60
    assert admin_client.get(export_url("json"), {"tag": "nightly"}).status_code == 200


def test_a_refused_filter_exports_nothing(admin_client, exportable):
    response = admin_client.get(export_url("json"), {"tags__contains": "x"})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?e=1"


def test_an_unknown_export_format_is_not_found(admin_client):
    assert admin_client.get(export_url("csv")).status_code == 404


def test_a_view_only_user_cannot_export(client, exportable):
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_deployment"))
    client.force_login(viewer)
    assert client.get(export_url("json")).status_code == 403


def test_an_export_changes_nothing_and_logs_nothing(admin_client, exportable, settled):
    before = settled()
    for format_name in ("json", "yaml"):
        assert admin_client.get(export_url(format_name)).status_code == 200
    for action in ("export_prefect_json", "export_prefect_yaml"):
        response = run_action(admin_client, action, exportable[:3])
        assert response.status_code == 200
    assert history_counts() == before


def test_the_selected_rows_export_as_prefect_yaml(admin_client, exportable):
    response = run_action(admin_client, "export_prefect_yaml", exportable[:2])
    assert response["Content-Type"] == "application/yaml"
    names = [entry["name"] for entry in yaml.safe_load(response.content)["deployments"]]
    assert sorted(names) == sorted(d.name for d in exportable[:2])


def test_the_list_links_to_both_exports_with_its_filters(admin_client, tagged):
    content = admin_client.get(LIST, {"tag": ["etl", "crm"], "q": "o"}).content.decode()
    query = "?q=o&amp;tag=etl&amp;tag=crm"
    assert f'href="{export_url("json")}{query}"' in content
    assert f'href="{export_url("yaml")}{query}"' in content


# Actions that change nothing -----------------------------------------------------------


def run_action(client, action: str, deployments):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(d.pk) for d in deployments]},
    )


def shown_message(client, response) -> str:
    return only_message(client.get(response["Location"]))


def with_schedules(active: bool, **fields) -> Deployment:
    deployment = DeploymentFactory(**fields)
    DeploymentScheduleFactory.create_batch(2, deployment=deployment, active=active)
    return deployment


NO_OPS = [
    ("pause", {"paused": True}, "Nothing changed: 4 already paused."),
    ("resume", {"paused": False}, "Nothing changed: 4 already running."),
    ("mark_ready", {"status": DeploymentStatus.READY}, "Nothing changed: 4 already ready."),
    (
        "mark_not_ready",
        {"status": DeploymentStatus.NOT_READY},
        "Nothing changed: 4 already not ready.",
    ),
]


@pytest.mark.parametrize(("action", "fields", "message"), NO_OPS)
def test_an_action_that_changes_nothing_says_so_and_logs_nothing(
    admin_client, settled, action, fields, message
):
    chosen = DeploymentFactory.create_batch(4, **fields)
    before_rows = list(Deployment.objects.values_list("id", "updated", "updated_by"))
    before = settled()
    response = run_action(admin_client, action, chosen)
    assert response.status_code == 302
    assert shown_message(admin_client, response) == message
    assert history_counts() == before
    assert list(Deployment.objects.values_list("id", "updated", "updated_by")) == before_rows


@pytest.mark.parametrize(
    ("action", "active", "message"),
    [
        ("activate_schedules", True, "Nothing changed: 4 already with every schedule active."),
        ("deactivate_schedules", False, "Nothing changed: 4 already with no active schedule."),
    ],
)
def test_a_schedules_action_that_changes_nothing_says_so_and_logs_nothing(
    admin_client, settled, action, active, message
):
    chosen = [with_schedules(active) for _ in range(4)]
    before = settled()
    response = run_action(admin_client, action, chosen)
    assert shown_message(admin_client, response) == message
    assert history_counts() == before


def test_an_action_says_how_many_changed_and_how_many_were_already_so(admin_client):
    chosen = [DeploymentFactory(paused=True), DeploymentFactory(paused=False)]
    response = run_action(admin_client, "pause", chosen)
    assert shown_message(admin_client, response) == "1 deployment(s) changed; 1 already paused."


def test_revoking_revoked_keys_changes_nothing_and_logs_nothing(admin_client, settled):
    keys = ApiKeyFactory.create_batch(2, revoked=timezone.now())
    before = settled()
    response = admin_client.post(
        reverse("admin:catalog_apikey_changelist"),
        {"action": "revoke", "_selected_action": [str(key.pk) for key in keys]},
    )
    assert shown_message(admin_client, response) == "Nothing changed: 2 already revoked."
    assert history_counts() == before
    assert ApiKey.objects.filter(revoked__isnull=True).count() == 0


# The landing page ("View site") ---------------------------------------------------------


def test_view_site_leads_to_the_landing_page(admin_client):
    index = admin_client.get(reverse("admin:index")).content.decode()
    assert '<a href="/">View site</a>' in index


def test_the_landing_page_links_the_admin_the_docs_and_the_health_routes(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    for href in (
        "/admin/",
        "/api/docs",
        "/api/redoc",
        "/api/openapi.json",
        "/api/health",
        "/api/ready",
        "/api/version",
        "/api/admin/version",
    ):
        assert f'href="{href}"' in content
    assert "PREFECT_API_URL=http://testserver/api" in content


def test_the_landing_page_loads_nothing_from_another_host(client):
    content = client.get("/").content.decode()
    assert "src=" not in content
    for link in content.split('href="')[1:]:
        assert link.startswith("/"), link[:40]
