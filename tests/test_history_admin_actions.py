"""The admin's bulk actions in the change history: one change set an action, by the user
who ran it, with the reason given in the action bar."""

import pytest
from django.urls import reverse

from catalog.models import ChangeSet, Version
from catalog.services.history import version_changes
from tests.factories import DeploymentFactory, DeploymentScheduleFactory

pytestmark = pytest.mark.django_db


def run_action(client, action: str, deployments, reason: str = ""):
    response = client.post(
        reverse("admin:catalog_deployment_changelist"),
        {
            "action": action,
            "_selected_action": [str(d.pk) for d in deployments],
            "change_reason": reason,
        },
    )
    assert response.status_code == 302
    return response


def admin_versions():
    return Version.objects.filter(change_set__door="admin").select_related("change_set")


def test_pausing_two_deployments_records_two_versions_in_one_change_set(admin_client, admin_user):
    chosen = DeploymentFactory.create_batch(2)
    DeploymentFactory()
    run_action(admin_client, "pause", chosen, reason="  freeze for the audit  ")
    versions = admin_versions()
    assert sorted(v.object_id for v in versions) == sorted(d.pk for d in chosen)
    assert list(ChangeSet.objects.filter(door="admin").values()) == [
        {
            "id": versions[0].change_set_id,
            "at": versions[0].change_set.at,
            "actor_kind": "user",
            "actor_name": admin_user.username,
            "actor_id": str(admin_user.pk),
            "door": "admin",
            "reason": "freeze for the audit",
        }
    ]
    assert [[c["path"] for c in version_changes(v)] for v in versions] == [["paused"]] * 2


def test_deactivating_schedules_records_each_schedules_active_flag(admin_client):
    deployment = DeploymentFactory()
    DeploymentScheduleFactory(deployment=deployment, slug="morning")
    DeploymentScheduleFactory(deployment=deployment, slug="evening")
    unslugged = DeploymentScheduleFactory(deployment=deployment, slug=None)
    DeploymentScheduleFactory(deployment=deployment, slug="idle", active=False)
    run_action(admin_client, "deactivate_schedules", [deployment])
    (version,) = admin_versions()
    assert version.change_set.reason is None
    paths = [
        f"schedules[id={unslugged.pk}].active",
        "schedules[slug=evening].active",
        "schedules[slug=morning].active",
    ]
    assert sorted(version_changes(version), key=lambda change: change["path"]) == [
        {"path": path, "old": True, "new": False} for path in paths
    ]
