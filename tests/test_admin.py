"""The admin as an ops tool, through Django's test client (the browser tests are in
test_admin_browser.py)."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin.audit import actor_for
from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule, Version
from catalog.rules import schedule_summaries, schedules
from catalog.services.history import version_changes
from tests.conftest import prefect_file
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    VariableFactory,
    WorkPoolFactory,
    WorkQueueFactory,
)
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

MODELS = ["flow", "deployment", "deploymentschedule", "concurrencylimit", "workpool", "workqueue"]
CHANGELIST = "admin:catalog_deployment_changelist"


@pytest.fixture
def catalog_rows():
    schedule = DeploymentScheduleFactory()
    queue = WorkQueueFactory()
    limit = ConcurrencyLimitFactory()
    deployment = schedule.deployment
    deployment.work_queue, deployment.global_concurrency_limit = queue, limit
    deployment.save()
    return {
        "flow": deployment.flow,
        "deployment": deployment,
        "deploymentschedule": schedule,
        "concurrencylimit": limit,
        "workpool": queue.work_pool,
        "workqueue": queue,
    }


@pytest.mark.parametrize("model", MODELS)
def test_the_list_add_and_change_pages_open(admin_client, catalog_rows, model):
    row = catalog_rows[model]
    for url in (
        reverse(f"admin:catalog_{model}_changelist"),
        reverse(f"admin:catalog_{model}_add"),
        reverse(f"admin:catalog_{model}_change", args=[row.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_admin_needs_a_login(client):
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


# The list -------------------------------------------------------------------------------


def listed(admin_client, query: str = "") -> list[str]:
    response = admin_client.get(reverse(CHANGELIST) + query)
    assert response.status_code == 200
    return sorted(row.name for row in response.context["cl"].result_list)


@pytest.fixture
def reference_rows():
    import_paths(
        [
            prefect_file(name)
            for name in (
                "20_get_deployment_full.json",
                "21_get_deployment_minimal.json",
                "22_get_deployment_gcl_linked.json",
            )
        ],
        flow_name="anchor-etl",
    )


def test_the_list_shows_readable_schedules_and_state(admin_client, reference_rows):
    content = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert "cron 30 9 1-7 * 1 (America/New_York, day_or off) (+2 more)" in content
    assert "2 of 3" in content
    assert "anchor-pool / anchor-queue" in content
    assert '<a class="tag" href="?tag=nightly">nightly</a>' in content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?tag=etl", ["anchor-full"]),
        ("?tag=anchor", ["anchor-full", "anchor-gcl-linked"]),
        ("?paused__exact=0", ["anchor-full", "anchor-gcl-linked", "anchor-minimal"]),
        ("?status__exact=READY", ["anchor-full"]),
        ("?schedule_kind=cron", ["anchor-full"]),
        ("?schedule_kind=none", ["anchor-gcl-linked", "anchor-minimal"]),
        ("?active_schedule=yes", ["anchor-full"]),
        ("?limited=yes", ["anchor-full", "anchor-gcl-linked"]),
        ("?limited=no", ["anchor-minimal"]),
        ("?work_pool=anchor-pool", ["anchor-full"]),
        ("?q=minimal", ["anchor-minimal"]),
        ("?q=anchor-etl", ["anchor-full", "anchor-gcl-linked", "anchor-minimal"]),
        ("?q=nightly", ["anchor-full"]),
        ("?q=flows/etl.py", ["anchor-full"]),
        ("?q=every+documented", ["anchor-full"]),
        ("?q=763aab22-ace8-44a4-9d54-9d4394c90972", ["anchor-minimal"]),
    ],
)
def test_the_list_filters_and_searches(admin_client, reference_rows, query, expected):
    assert listed(admin_client, query) == expected


def test_the_tag_filter_offers_tags_up_to_its_choice_budget(admin_client, reference_rows):
    response = admin_client.get(reverse(CHANGELIST))
    tag_filter = next(f for f in response.context["cl"].filter_specs if f.title == "tag")
    assert [value for value, _ in tag_filter.lookup_choices] == ["anchor", "etl", "nightly"]


def queries_for(admin_client, url: str) -> int:
    """Queries of one page view, with the tag list cache cold each time."""
    from django.core.cache import cache
    from django.db import connection

    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert admin_client.get(url).status_code == 200
    return len(captured)


def test_the_list_query_count_does_not_grow_with_rows(admin_client):
    def add_deployments(count):
        for deployment in DeploymentFactory.create_batch(count, tags=["a", "b"]):
            DeploymentScheduleFactory.create_batch(3, deployment=deployment)

    add_deployments(3)
    few = queries_for(admin_client, reverse(CHANGELIST))
    add_deployments(30)
    assert queries_for(admin_client, reverse(CHANGELIST)) == few


def test_the_form_query_count_does_not_grow_with_schedules(admin_client):
    deployment = DeploymentFactory(work_queue=WorkQueueFactory())
    DeploymentScheduleFactory(deployment=deployment)
    url = reverse("admin:catalog_deployment_change", args=[deployment.pk])
    few = queries_for(admin_client, url)
    DeploymentScheduleFactory.create_batch(12, deployment=deployment)
    assert queries_for(admin_client, url) == few


# The form -------------------------------------------------------------------------------


def form_data(deployment: Deployment, **changes) -> dict:
    """What the change form posts for a deployment with its schedules unchanged."""
    rows = list(deployment.schedules.order_by("-updated"))
    data = {
        "name": deployment.name,
        "flow": str(deployment.flow_id),
        "version": deployment.version or "",
        "description": deployment.description or "",
        "tags": ", ".join(deployment.tags),
        "labels": json.dumps(deployment.labels),
        "status": deployment.status,
        "work_queue": str(deployment.work_queue_id or ""),
        "entrypoint": deployment.entrypoint or "",
        "path": deployment.path or "",
        "pull_steps": json.dumps(deployment.pull_steps),
        "job_variables": json.dumps(deployment.job_variables),
        "storage_document_id": str(deployment.storage_document_id or ""),
        "infrastructure_document_id": str(deployment.infrastructure_document_id or ""),
        "parameters": json.dumps(deployment.parameters),
        "parameter_openapi_schema": json.dumps(deployment.parameter_openapi_schema),
        "enforce_parameter_schema": "on" if deployment.enforce_parameter_schema else "",
        "global_concurrency_limit": str(deployment.global_concurrency_limit_id or ""),
        "concurrency_collision_strategy": deployment.concurrency_collision_strategy or "",
        "concurrency_grace_period_seconds": deployment.concurrency_grace_period_seconds or "",
        "schedules-TOTAL_FORMS": str(len(rows)),
        "schedules-INITIAL_FORMS": str(len(rows)),
        "schedules-MIN_NUM_FORMS": "0",
        "schedules-MAX_NUM_FORMS": "1000",
    }
    if deployment.paused:
        data["paused"] = "on"
    for n, row in enumerate(rows):
        data.update(schedule_form_data(n, row))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def schedule_form_data(n: int, row: DeploymentSchedule) -> dict:
    prefix = f"schedules-{n}-"
    local_anchor = row.local_anchor_date()
    fields = {
        "id": str(row.pk),
        "deployment": str(row.deployment_id),
        "kind": row.kind,
        "interval": f"{row.interval:g}" if row.interval else "",
        "anchor_date": local_anchor.isoformat() if local_anchor else "",
        "cron": row.cron or "",
        "rrule": row.rrule or "",
        "timezone": row.timezone or "",
        "max_scheduled_runs": row.max_scheduled_runs or "",
        "parameters": json.dumps(row.parameters),
        "slug": row.slug or "",
    }
    if row.active:
        fields["active"] = "on"
    if row.day_or:
        fields["day_or"] = "on"
    return {prefix + key: value for key, value in fields.items()}


@pytest.fixture
def full_deployment(reference_rows) -> Deployment:
    return Deployment.objects.get(name="anchor-full")


def change_url(deployment: Deployment) -> str:
    return reverse("admin:catalog_deployment_change", args=[deployment.pk])


def cron_row_index(deployment: Deployment) -> int:
    rows = list(deployment.schedules.order_by("-updated"))
    return next(n for n, row in enumerate(rows) if row.kind == "cron")


def test_an_invalid_cron_is_an_error_next_to_the_field_and_nothing_is_saved(
    admin_client, full_deployment
):
    n = cron_row_index(full_deployment)
    before = full_deployment.updated
    data = form_data(full_deployment, **{f"schedules-{n}-cron": "61 * * * *"})
    response = admin_client.post(change_url(full_deployment), data)
    assert response.status_code == 200
    inline_errors = response.context["inline_admin_formsets"][0].formset.errors[n]
    assert inline_errors["cron"] == ['Invalid cron string: "61 * * * *"']
    full_deployment.refresh_from_db()
    assert full_deployment.updated == before
    assert DeploymentSchedule.objects.filter(cron="30 9 1-7 * 1").exists()


def test_a_valid_cron_saves_and_the_api_shows_it(admin_client, api_client, full_deployment):
    n = cron_row_index(full_deployment)
    data = form_data(full_deployment, **{f"schedules-{n}-cron": "45 8 * * 1-5"})
    response = admin_client.post(change_url(full_deployment), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    body = api_client.get(f"/api/deployments/{full_deployment.pk}").json()
    crons = [s["schedule"] for s in body["schedules"] if "cron" in s["schedule"]]
    assert crons == [{"cron": "45 8 * * 1-5", "timezone": "America/New_York", "day_or": False}]


def test_saving_records_who_changed_what(admin_client, admin_user, full_deployment):
    data = form_data(full_deployment, description="changed in the admin")
    assert admin_client.post(change_url(full_deployment), data).status_code == 302
    full_deployment.refresh_from_db()
    assert full_deployment.updated_by == actor_for(admin_user)
    entry = LogEntry.objects.get(object_id=str(full_deployment.pk))
    assert entry.user == admin_user
    assert "Description" in entry.get_change_message()


def test_adding_sets_created_by_and_the_flow_label(admin_client, admin_user):
    flow = FlowFactory()
    data = form_data(DeploymentFactory.build(flow=flow, name="new-one", labels={}))
    assert admin_client.post(reverse("admin:catalog_deployment_add"), data).status_code == 302
    deployment = Deployment.objects.get(name="new-one")
    assert deployment.created_by == actor_for(admin_user)
    assert deployment.labels == {"prefect.flow.id": str(flow.id)}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("parameters", "[1, 2]", "Enter a JSON object."),
        (
            "parameters",
            "{not json",
            "Enter valid JSON: line 1, column 2: Expecting property name enclosed in double"
            " quotes.",
        ),
        ("tags", "", None),
        ("labels", '{"k": [1]}', "Label k must be a string, number or boolean."),
        ("pull_steps", '["x"]', "Enter a list of JSON objects."),
    ],
)
def test_json_fields_are_checked_for_type_and_shape(
    admin_client, full_deployment, field, value, message
):
    response = admin_client.post(
        change_url(full_deployment), form_data(full_deployment, **{field: value})
    )
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("parameters", '{"sql": "select\\u0000"}', "NUL characters are not allowed (at sql)"),
        ("job_variables", '{"env": {"A": "\\u0000"}}', "NUL characters are not allowed (at env.A)"),
        ("tags", "etl, bad\x00tag", "NUL characters are not allowed"),
        ("description", "nul\x00here", "Null characters are not allowed."),
        ("tags", ", ".join(f"t{n}" for n in range(101)), "Enter at most 100 tags (101 given)."),
    ],
)
def test_unstorable_values_are_a_form_error_on_every_database(
    admin_client, full_deployment, field, value, message
):
    before = database_fingerprint()
    response = admin_client.post(
        change_url(full_deployment), form_data(full_deployment, **{field: value})
    )
    assert response.status_code == 200
    assert message in response.context["adminform"].form.errors[field]
    assert database_fingerprint() == before


def test_a_flows_json_fields_refuse_nul_characters_too(admin_client):
    flow = FlowFactory(labels={"team": "data"})
    url = reverse("admin:catalog_flow_change", args=[flow.pk])
    data = {"name": flow.name, "tags": "[]", "labels": '{"team": "da\\u0000ta"}'}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["labels"] == [
        "NUL characters are not allowed (at team)"
    ]
    flow.refresh_from_db()
    assert flow.labels == {"team": "data"}


def test_parameters_must_fit_the_schema_when_enforced(admin_client, full_deployment):
    data = form_data(full_deployment, parameters='{"count": "many"}')
    response = admin_client.post(change_url(full_deployment), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["parameters"]
    assert errors == [
        "Validation failed for field 'count'. Failure reason: 'many' is not of type 'integer'"
    ]


def test_the_form_shows_the_json_the_api_returns(admin_client, api_client, full_deployment):
    """Indented, in the API's key order (tests/test_admin_form.py reads the panel)."""
    import html
    import re

    content = admin_client.get(change_url(full_deployment)).content.decode()
    api_body = api_client.get(f"/api/deployments/{full_deployment.pk}").content.decode()
    shown = html.unescape(re.search(r'<pre class="json-text">(.*?)</pre>', content, re.S)[1])
    in_order = json.loads(api_body, object_pairs_hook=list)
    assert json.loads(shown, object_pairs_hook=list) == in_order
    assert shown == json.dumps(json.loads(api_body), indent=2, ensure_ascii=False)


def test_the_form_lists_the_next_ten_runs_of_each_schedule(admin_client, full_deployment):
    response = admin_client.get(change_url(full_deployment))
    content = response.content.decode()
    assert content.count(" EST</td>") + content.count(" EDT</td>") >= 20


# Actions --------------------------------------------------------------------------------


def run_action(client, action: str, deployments) -> object:
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(d.pk) for d in deployments]},
    )


def test_pausing_two_rows_leaves_a_history_entry_for_each(admin_client, admin_user):
    chosen = DeploymentFactory.create_batch(2)
    other = DeploymentFactory()
    assert run_action(admin_client, "pause", chosen).status_code == 302
    assert set(Deployment.objects.filter(paused=True)) == set(chosen)
    versions = Version.objects.filter(
        object_id__in=[d.pk for d in chosen], change_set__door="admin"
    )
    assert versions.count() == 2
    assert {version.change_set.actor_name for version in versions} == {admin_user.username}
    assert len({version.change_set_id for version in versions}) == 1
    for version in versions:
        assert [c["path"] for c in version_changes(version)] == ["paused"]
    assert Deployment.objects.get(pk=chosen[0].pk).updated_by == actor_for(admin_user)
    assert not Deployment.objects.get(pk=other.pk).paused


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("resume", "paused", False),
        ("mark_ready", "status", "READY"),
        ("mark_not_ready", "status", "NOT_READY"),
    ],
)
def test_each_action_changes_its_field(admin_client, action, field, value):
    chosen = DeploymentFactory.create_batch(
        2, paused=True, status="READY" if value != "READY" else "NOT_READY"
    )
    run_action(admin_client, action, chosen)
    assert {getattr(d, field) for d in Deployment.objects.all()} == {value}


def test_schedule_actions_change_only_the_schedules_active_flag(admin_client):
    row = DeploymentScheduleFactory(active=True)
    run_action(admin_client, "deactivate_schedules", [row.deployment])
    row.refresh_from_db()
    assert not row.active
    assert not row.deployment.paused
    run_action(admin_client, "activate_schedules", [row.deployment])
    row.refresh_from_db()
    assert row.active


def test_the_export_is_a_bundle_the_importer_takes_back(admin_client, full_deployment, tmp_path):
    response = run_action(admin_client, "export_prefect_json", [full_deployment])
    bundle = json.loads(response.content)
    assert [d["name"] for d in bundle["deployments"]] == ["anchor-full"]
    assert [f["name"] for f in bundle["flows"]] == ["anchor-etl"]
    path = tmp_path / "export.json"
    path.write_bytes(response.content)
    result = import_paths([path])
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


def test_the_export_leaves_the_variables_out_and_says_so(admin_client, full_deployment):
    VariableFactory.create_batch(2)
    response = run_action(admin_client, "export_prefect_json", [full_deployment])
    assert "variables" not in json.loads(response.content)
    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert (
        "2 variables left out of the bundle (they may hold secrets); "
        "export_deployments --include-variables adds them."
    ) in page


# Permissions ----------------------------------------------------------------------------


@pytest.fixture
def viewer_client(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__startswith="view_", content_type__app_label="catalog")
    )
    client.force_login(viewer)
    return client


def test_a_view_only_user_sees_the_list_but_no_actions(viewer_client):
    DeploymentFactory()
    response = viewer_client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert response.context["action_form"] is None or not response.context["cl"].actions_shown


def test_a_view_only_user_cannot_run_an_action(viewer_client):
    deployment = DeploymentFactory()
    run_action(viewer_client, "pause", [deployment])
    deployment.refresh_from_db()
    assert not deployment.paused


def test_a_view_only_user_cannot_change_a_deployment(viewer_client):
    deployment = DeploymentFactory(description="before")
    response = viewer_client.post(change_url(deployment), form_data(deployment, description="x"))
    assert response.status_code == 403
    deployment.refresh_from_db()
    assert deployment.description == "before"


def test_a_schedule_summary_reads_as_the_issue_describes():
    assert schedule_summaries.describe(
        schedules.CronSchedule("30 9 1-7 * 1", "America/New_York", False)
    ) == ("cron 30 9 1-7 * 1 (America/New_York, day_or off)")


def test_pausing_paused_deployments_changes_nothing_and_says_so(admin_client):
    chosen = DeploymentFactory.create_batch(2, paused=True)
    before = database_fingerprint()
    response = run_action(admin_client, "pause", chosen)
    assert response.status_code == 302
    assert database_fingerprint() == before
    assert not Version.objects.filter(
        object_id__in=[d.pk for d in chosen], change_set__door="admin"
    ).exists()
    page = admin_client.get(response["Location"])
    assert "Nothing changed: 2 already paused." in page.content.decode()


def test_an_export_leaves_no_history_entry(admin_client, full_deployment):
    run_action(admin_client, "export_prefect_json", [full_deployment])
    assert not Version.objects.filter(
        object_id=full_deployment.pk, change_set__door="admin"
    ).exists()


# Work pools ---------------------------------------------------------------------------


def pool_form_data(pool, **changes) -> dict:
    """What the change form posts for a pool, with `changes` on top."""
    data = {
        "name": pool.name,
        "description": pool.description or "",
        "type": pool.type,
        "base_job_template": json.dumps(pool.base_job_template),
        "concurrency_limit": pool.concurrency_limit or "",
        "status": pool.status or "",
        "default_queue": str(pool.default_queue_id or ""),
        "storage_configuration": json.dumps(pool.storage_configuration),
    }
    if pool.is_paused:
        data["is_paused"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_pausing_a_pool_in_the_admin_makes_it_paused_as_the_api_does(admin_client):
    pool = WorkPoolFactory(type="process", status="NOT_READY")
    url = reverse("admin:catalog_workpool_change", args=[pool.pk])

    response = admin_client.post(url, pool_form_data(pool, is_paused="on"))
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.is_paused, pool.status) == (True, "PAUSED")

    response = admin_client.post(url, pool_form_data(pool, is_paused=None))
    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.is_paused, pool.status) == (False, "NOT_READY")
