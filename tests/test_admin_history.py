"""The admin's side of the change history: a deployment's history tab and its restore
button, the catalog-wide change history page with its filters and exports, and the
reason beside a save or an action (the browser's view is in test_admin_browser.py)."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Deployment, Version
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)
from tests.replay import database_fingerprint
from tests.test_admin import change_url, form_data, run_action

pytestmark = pytest.mark.django_db

AUDIT_LIST = "admin:catalog_version_changelist"


def history_url(deployment_id) -> str:
    return reverse("admin:catalog_deployment_history", args=[deployment_id])


def restore_url(deployment_id, number: int) -> str:
    return reverse("admin:catalog_deployment_restore", args=[deployment_id, number])


def tab(client, deployment_id, query: str = ""):
    response = client.get(history_url(deployment_id) + query)
    assert response.status_code == 200
    return response


def shown_versions(response) -> list[dict]:
    """The tab's versions as the page shows them, newest first."""
    return [
        {
            "number": entry.version.number,
            "kind": entry.kind,
            "actor": entry.actor,
            "door": entry.version.change_set.door,
            "reason": entry.version.change_set.reason,
            "changes": [
                f"{line.path}: {line.old.text} → {line.new.text}" for line in entry.changes
            ],
        }
        for entry in response.context["timeline"]
        if not entry.by_reference
    ]


def shown_references(response) -> list[str]:
    return [
        f"{entry.summary}, by {entry.actor}"
        for entry in response.context["timeline"]
        if entry.by_reference
    ]


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def viewer_client(client):
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__startswith="view_", content_type__app_label="catalog")
    )
    client.force_login(viewer)
    return client


# The tab ------------------------------------------------------------------------------


def test_the_tab_shows_an_admin_save_with_its_reason_and_diff(admin_client):
    deployment = DeploymentFactory(description="before", path="/opt", entrypoint="etl.py:run")
    data = form_data(deployment, description="after", change_reason="ticket 42")
    assert admin_client.post(change_url(deployment), data).status_code == 302

    newest = shown_versions(tab(admin_client, deployment.pk))[0]
    assert newest == {
        "number": 2,
        "kind": "changed",
        "actor": "admin (user)",
        "door": "admin",
        "reason": "ticket 42",
        "changes": ['description: "before" → "after"'],
    }


def test_the_history_button_of_the_change_page_leads_to_the_tab(admin_client):
    deployment = DeploymentFactory()
    page = admin_client.get(change_url(deployment)).content.decode()
    assert f'href="{history_url(deployment.pk)}"' in page


def test_the_tab_shows_a_bulk_pause_with_the_action_bars_reason(admin_client):
    chosen = DeploymentFactory.create_batch(2)
    response = admin_client.post(
        reverse("admin:catalog_deployment_changelist"),
        {
            "action": "pause",
            "_selected_action": [str(row.pk) for row in chosen],
            "change_reason": "maintenance window",
        },
    )
    assert response.status_code == 302
    for row in chosen:
        page = tab(admin_client, row.pk)
        assert shown_versions(page)[0] == {
            "number": 2,
            "kind": "changed",
            "actor": "admin (user)",
            "door": "admin",
            "reason": "maintenance window",
            "changes": ["paused: false → true"],
        }
        assert "paused" in page.content.decode()


def test_an_api_patch_shows_door_api_and_the_keys_name(admin_client, api_client, write_key):
    deployment = DeploymentFactory()
    response = api_client.patch(
        f"/api/deployments/{deployment.pk}",
        {"tags": ["nightly"]},
        format="json",
        HTTP_X_CHANGE_REASON="tagging",
    )
    assert response.status_code == 204
    newest = shown_versions(tab(admin_client, deployment.pk))[0]
    assert newest == {
        "number": 2,
        "kind": "changed",
        "actor": f"test-writer ({write_key.prefix}…) (API key)",
        "door": "api",
        "reason": "tagging",
        "changes": ['tags: [] → ["nightly"]'],
    }


def test_a_deleted_deployments_tab_still_answers(admin_client, api_client):
    deployment = DeploymentFactory()
    assert api_client.delete(f"/api/deployments/{deployment.pk}").status_code == 204
    response = tab(admin_client, deployment.pk)
    assert [(v["number"], v["kind"]) for v in shown_versions(response)] == [
        (2, "deleted"),
        (1, "created"),
    ]
    assert response.context["exists"] is False
    assert restore_url(deployment.pk, 1) in response.content.decode()
    audit = admin_client.get(response.context["audit_url"])
    assert [(v.number, v.kind) for v in audit.context["cl"].result_list] == [
        (2, "deleted"),
        (1, "created"),
    ]


def test_an_id_without_history_or_row_is_not_found(admin_client):
    assert admin_client.get(history_url("7b4f1d56-3c21-4c8e-9f0a-2d1e5b6a7c8d")).status_code == 404
    assert admin_client.get(history_url("not-an-id")).status_code == 404


def test_a_shared_limits_change_shows_by_reference(admin_client, api_client, write_key):
    limit = ConcurrencyLimitFactory(name="warehouse", limit=5)
    deployment = DeploymentFactory(global_concurrency_limit=limit)
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    api_client.patch("/api/v2/concurrency_limits/warehouse", {"limit": 2}, format="json")
    [line, *_] = shown_references(tab(admin_client, deployment.pk))
    assert line == (
        f"concurrency limit warehouse changed: limit: 5 → 2, by test-writer "
        f"({write_key.prefix}…) (API key)"
    )


def test_shared_objects_changes_show_by_reference_and_not_as_versions(admin_client, api_client):
    queue = WorkQueueFactory(name="default")
    deployment = DeploymentFactory(work_queue=queue)
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    old_name = queue.work_pool.name
    with change_set(WriteContext(Actor.system("ops-script"), Door.COMMAND, "naming")):
        queue.work_pool.name = "k8s"
        queue.work_pool.save()

    response = tab(admin_client, deployment.pk)
    assert [v["number"] for v in shown_versions(response)] == [2, 1]
    assert shown_references(response)[0] == (
        f'work pool k8s renamed: name: "{old_name}" → "k8s", by ops-script (system)'
    )
    assert Version.objects.filter(object_id=deployment.pk).count() == 2


def test_the_tab_pages_fifty_versions_at_a_time(admin_client):
    deployment = DeploymentFactory(paused=False)
    for _ in range(26):
        run_action(admin_client, "pause", [deployment])
        run_action(admin_client, "resume", [deployment])
    first = tab(admin_client, deployment.pk)
    second = tab(admin_client, deployment.pk, "?page=2")
    assert [v["number"] for v in shown_versions(first)] == list(range(53, 3, -1))
    assert [v["number"] for v in shown_versions(second)] == [3, 2, 1]
    assert admin_client.get(history_url(deployment.pk) + "?page=3").status_code == 404
    assert admin_client.get(history_url(deployment.pk) + "?page=x").status_code == 404


def tab_queries(client, deployment_id) -> int:
    with CaptureQueriesContext(connection) as queries:
        tab(client, deployment_id)
    return len(queries)


def test_the_tabs_queries_do_not_grow_with_its_versions(
    admin_client, api_client, django_assert_num_queries
):
    queue = WorkQueueFactory()
    short, long = DeploymentFactory(work_queue=queue), DeploymentFactory(work_queue=queue)
    api_client.patch(f"/api/deployments/{short.pk}", {"description": "x"}, format="json")
    for n in range(12):
        api_client.patch(f"/api/deployments/{long.pk}", {"description": f"{n}"}, format="json")
    with change_set(WriteContext(Actor.system("ops-script"), Door.COMMAND)):
        queue.name = "renamed"
        queue.save()
    expected = tab_queries(admin_client, short.pk)
    with django_assert_num_queries(expected):
        tab(admin_client, long.pk)


# Restoring ----------------------------------------------------------------------------


def test_restoring_brings_back_the_earlier_configuration_as_a_new_version(admin_client):
    schedule = DeploymentScheduleFactory(deployment__description="first")
    deployment = schedule.deployment
    data = form_data(deployment, description="second", **{"schedules-0-DELETE": "on"})
    assert admin_client.post(change_url(deployment), data, follow=True).status_code == 200
    assert not deployment.schedules.exists()

    response = admin_client.post(
        restore_url(deployment.pk, 1), {"change_reason": "undo"}, follow=True
    )
    assert messages_of(response) == ["Version 1 restored as version 3."]
    deployment.refresh_from_db()
    assert deployment.description == "first"
    assert list(deployment.schedules.values_list("id", flat=True)) == [schedule.pk]
    assert shown_versions(response)[0] == {
        "number": 3,
        "kind": "restores version 1",
        "actor": "admin (user)",
        "door": "admin",
        "reason": "undo",
        "changes": shown_versions(response)[0]["changes"],
    }
    assert 'description: "second" → "first"' in shown_versions(response)[0]["changes"]


def test_a_deleted_deployment_comes_back_with_its_id(admin_client, api_client):
    deployment = DeploymentFactory(name="gone")
    api_client.delete(f"/api/deployments/{deployment.pk}")
    response = admin_client.post(restore_url(deployment.pk, 1), follow=True)
    assert messages_of(response) == ["Version 1 restored as version 3."]
    assert Deployment.objects.get(pk=deployment.pk).name == "gone"


def test_a_clashing_restore_says_why_and_writes_nothing(admin_client, api_client):
    flow = FlowFactory(name="etl")
    deployment = DeploymentFactory(flow=flow, name="daily")
    admin_client.post(change_url(deployment), form_data(deployment, name="renamed"), follow=True)
    api_client.post("/api/deployments/", {"name": "daily", "flow_id": str(flow.pk)}, format="json")
    before, versions = database_fingerprint(), Version.objects.count()

    response = admin_client.post(restore_url(deployment.pk, 1), follow=True)
    [message] = messages_of(response)
    assert message.startswith('Version 1 was not restored: The name "etl/daily" is taken')
    assert database_fingerprint() == before
    assert Version.objects.count() == versions


def test_restoring_a_version_that_is_not_there_says_so(admin_client, api_client):
    deployment = DeploymentFactory()
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    response = admin_client.post(restore_url(deployment.pk, 9), follow=True)
    assert messages_of(response) == ["Version 9 was not restored: Version not found."]


def test_restoring_what_the_deployment_already_is_changes_nothing(admin_client, api_client):
    deployment = DeploymentFactory(description="first")
    for description in ("second", "first"):
        api_client.patch(
            f"/api/deployments/{deployment.pk}", {"description": description}, format="json"
        )
    response = admin_client.post(restore_url(deployment.pk, 1), follow=True)
    assert messages_of(response) == ["The deployment is as version 1 left it: nothing changed."]
    assert [v["number"] for v in shown_versions(response)] == [3, 2, 1]


def test_a_reason_the_history_cannot_keep_restores_nothing(admin_client, api_client):
    deployment = DeploymentFactory(description="first")
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    response = admin_client.post(
        restore_url(deployment.pk, 1), {"change_reason": "x" * 501}, follow=True
    )
    assert messages_of(response) == [
        "Nothing was changed. The reason: String should have at most 500 characters"
    ]
    deployment.refresh_from_db()
    assert deployment.description == "x"


def test_bringing_a_deleted_deployment_back_needs_the_add_permission(client, api_client):
    changer = User.objects.create_user("changer", password="pw", is_staff=True)
    changer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_deployment", "change_deployment"])
    )
    client.force_login(changer)
    kept, deleted = DeploymentFactory(description="first"), DeploymentFactory()
    api_client.patch(f"/api/deployments/{kept.pk}", {"description": "x"}, format="json")
    api_client.delete(f"/api/deployments/{deleted.pk}")

    assert "Restore this version" not in tab(client, deleted.pk).content.decode()
    assert client.post(restore_url(deleted.pk, 1)).status_code == 403
    assert not Deployment.objects.filter(pk=deleted.pk).exists()
    client.post(restore_url(kept.pk, 1))
    kept.refresh_from_db()
    assert kept.description == "first"


def test_a_view_only_user_sees_the_tab_but_cannot_restore(viewer_client, api_client):
    deployment = DeploymentFactory(description="first")
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    response = tab(viewer_client, deployment.pk)
    assert [v["number"] for v in shown_versions(response)] == [2, 1]
    assert "Restore this version" not in response.content.decode()
    assert viewer_client.post(restore_url(deployment.pk, 1)).status_code == 403
    deployment.refresh_from_db()
    assert deployment.description == "x"


# The change history page --------------------------------------------------------------


@pytest.fixture
def audited(admin_client, api_client, write_key):
    """Versions through three doors: factories (other), an admin pause with a reason, an
    API patch and delete; the first versions dated 2025-01-10."""
    nightly = DeploymentFactory(name="nightly", flow__name="etl", tags=["nightly"])
    gpu = DeploymentFactory(name="gpu", flow__name="ml", tags=["gpu"])
    admin_client.post(
        reverse("admin:catalog_deployment_changelist"),
        {"action": "pause", "_selected_action": [str(nightly.pk)], "change_reason": "upgrade"},
        follow=True,
    )
    api_client.patch(f"/api/deployments/{gpu.pk}", {"description": "x"}, format="json")
    api_client.delete(f"/api/deployments/{gpu.pk}")
    Version.objects.filter(number=1).update(at=datetime(2025, 1, 10, 12, tzinfo=UTC))
    return {"key": write_key}


def listed(client, query: str = "") -> set[tuple[str, str, int]]:
    response = client.get(reverse(AUDIT_LIST) + query)
    assert response.status_code == 200
    return {(v.object_type, v.name, v.number) for v in response.context["cl"].result_list}


def test_the_change_history_lists_every_version(admin_client, audited):
    assert listed(admin_client) == {
        ("flow", "etl", 1),
        ("flow", "ml", 1),
        ("deployment", "nightly", 1),
        ("deployment", "gpu", 1),
        ("deployment", "nightly", 2),
        ("deployment", "gpu", 2),
        ("deployment", "gpu", 3),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?door=admin", {("deployment", "nightly", 2)}),
        ("?door=api", {("deployment", "gpu", 2), ("deployment", "gpu", 3)}),
        ("?actor=admin", {("deployment", "nightly", 2)}),
        ("?flow=etl", {("deployment", "nightly", 1), ("deployment", "nightly", 2)}),
        (
            "?tag=gpu",
            {("deployment", "gpu", 1), ("deployment", "gpu", 2), ("deployment", "gpu", 3)},
        ),
        ("?kind__exact=deleted", {("deployment", "gpu", 3)}),
        ("?object_type__exact=flow", {("flow", "etl", 1), ("flow", "ml", 1)}),
        (
            "?from=2025-01-10&to=2025-01-10",
            {
                ("flow", "etl", 1),
                ("flow", "ml", 1),
                ("deployment", "nightly", 1),
                ("deployment", "gpu", 1),
            },
        ),
        ("?from=2025-01-11&door=admin", {("deployment", "nightly", 2)}),
        ("?to=2025-01-09", set()),
        ("?q=nightly", {("deployment", "nightly", 1), ("deployment", "nightly", 2)}),
    ],
)
def test_each_filter_narrows_the_list(admin_client, audited, query, expected):
    assert listed(admin_client, query) == expected


def test_the_actor_filter_finds_an_api_key(admin_client, audited):
    key = audited["key"]
    query = f"?actor={key.name} ({key.prefix}…)"
    assert listed(admin_client, query) == {("deployment", "gpu", 2), ("deployment", "gpu", 3)}


def test_a_date_that_is_not_a_date_is_refused_with_a_message(admin_client, audited):
    response = admin_client.get(reverse(AUDIT_LIST) + "?from=yesterday", follow=True)
    assert messages_of(response) == [
        "This list cannot be filtered by from: “yesterday” is not a date (YYYY-MM-DD). "
        "The list is shown unfiltered."
    ]


def test_the_date_filter_and_the_exports_keep_the_other_filters(admin_client, audited):
    page = admin_client.get(reverse(AUDIT_LIST) + "?door=api&q=gpu").content.decode()
    assert '<input type="hidden" name="door" value="api">' in page
    assert '<input type="hidden" name="q" value="gpu">' in page
    assert f'href="{reverse("admin:catalog_version_export_csv")}?door=api&amp;q=gpu"' in page
    assert f'href="{reverse("admin:catalog_version_export_jsonl")}?door=api&amp;q=gpu"' in page


def test_a_deployments_name_links_to_its_history(admin_client, audited):
    nightly = Version.objects.get(name="nightly", number=1)
    page = admin_client.get(reverse(AUDIT_LIST)).content.decode()
    assert f'href="{history_url(nightly.object_id)}"' in page


def test_the_change_history_is_read_only(admin_client, audited):
    response = admin_client.get(reverse(AUDIT_LIST))
    assert response.context["cl"].model_admin.get_actions(response.wsgi_request) == {}
    version = Version.objects.first()
    assert admin_client.get(reverse("admin:catalog_version_add")).status_code == 403
    delete = reverse("admin:catalog_version_delete", args=[version.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Version.objects.filter(pk=version.pk).exists()


def test_a_view_only_user_sees_the_change_history(viewer_client, audited):
    assert len(listed(viewer_client)) == 7


def exported(client, name: str, query: str) -> bytes:
    response = client.get(reverse(f"admin:catalog_version_export_{name}") + query)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="change-history-')
    return b"".join(response.streaming_content)


def test_the_csv_export_holds_exactly_the_listed_rows(admin_client, audited):
    text = exported(admin_client, "csv", "?door=api").decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == [
        "at",
        "object_type",
        "object_id",
        "name",
        "flow_name",
        "version",
        "kind",
        "actor_kind",
        "actor_name",
        "door",
        "reason",
        "change_set",
        "restored_from",
        "changes",
    ]
    assert {(row["object_type"], row["name"], int(row["version"])) for row in rows} == listed(
        admin_client, "?door=api"
    )
    patch = next(row for row in rows if row["version"] == "2")
    assert json.loads(patch["changes"]) == [{"path": "description", "old": None, "new": "x"}]


def test_the_json_lines_export_holds_exactly_the_listed_rows(admin_client, audited):
    lines = exported(admin_client, "jsonl", "?door=admin&flow=etl").decode().splitlines()
    [row] = [json.loads(line) for line in lines]
    version = Version.objects.get(name="nightly", number=2)
    assert row == {
        "at": version.at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "object_type": "deployment",
        "object_id": str(version.object_id),
        "name": "nightly",
        "flow_name": "etl",
        "version": 2,
        "kind": "changed",
        "actor_kind": "user",
        "actor_name": "admin",
        "door": "admin",
        "reason": "upgrade",
        "change_set": str(version.change_set_id),
        "restored_from": None,
        "changes": [{"path": "paused", "old": False, "new": True}],
    }


def test_the_exports_follow_the_search(admin_client, audited):
    lines = exported(admin_client, "jsonl", "?q=ml").decode().splitlines()
    assert {(r["object_type"], r["name"], r["version"]) for r in map(json.loads, lines)} == listed(
        admin_client, "?q=ml"
    )


def test_a_csv_cell_a_spreadsheet_would_run_is_written_as_text(admin_client, api_client):
    deployment = DeploymentFactory()
    api_client.patch(
        f"/api/deployments/{deployment.pk}",
        {"description": "x"},
        format="json",
        HTTP_X_CHANGE_REASON="=HYPERLINK(1)",
    )
    rows = list(csv.DictReader(io.StringIO(exported(admin_client, "csv", "?door=api").decode())))
    assert [row["reason"] for row in rows] == ["'=HYPERLINK(1)"]


def test_a_refused_export_exports_nothing(admin_client, audited):
    response = admin_client.get(reverse("admin:catalog_version_export_csv") + "?name__regex=x")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_change_history_pages_queries_do_not_grow_with_rows(
    admin_client, api_client, django_assert_num_queries
):
    deployment = DeploymentFactory()
    api_client.patch(f"/api/deployments/{deployment.pk}", {"description": "x"}, format="json")
    listed(admin_client)  # the tag filter's choices are cached from the first page on
    expected = list_queries(admin_client)
    for n in range(15):
        api_client.patch(
            f"/api/deployments/{deployment.pk}", {"description": f"{n}"}, format="json"
        )
    with django_assert_num_queries(expected):
        listed(admin_client)


def list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        listed(client)
    return len(queries)


# The reason beside a save -------------------------------------------------------------


def test_the_change_form_offers_a_reason_near_the_save_buttons(admin_client):
    page = admin_client.get(change_url(DeploymentFactory())).content.decode()
    reason = page.index('name="change_reason"')
    assert page.index('id="schedules-group"') < reason < page.index('name="_save"')


def test_a_view_only_user_is_offered_no_reason(viewer_client):
    page = viewer_client.get(change_url(DeploymentFactory())).content.decode()
    assert 'name="change_reason"' not in page
