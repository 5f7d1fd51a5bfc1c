"""The change history's core: which writes record versions, under which change set, and
what a restore brings back. The doors' own tests are test_api_history.py,
test_admin_history.py and test_history_import.py."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import (
    ChangeSet,
    Deployment,
    DeploymentJson,
    DeploymentSchedule,
    DeploymentStatus,
    Flow,
    PendingChange,
    Version,
    WorkPool,
)
from catalog.rendering import json_cache
from catalog.rendering.deployment_json import rendered_deployments
from catalog.services import deployments as deployment_writes
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.errors import Conflict, NotFound
from catalog.services.history import change_set, version_changes, versions_of_object
from catalog.services.history_restore import RestoreRefused, deployment_restore
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db

OPS = WriteContext(Actor.system("ops-script"), Door.COMMAND, "quarterly clean-up")


def versions(deployment) -> list[Version]:
    return list(versions_of_object("deployment", deployment.pk))


@pytest.fixture
def recorded():
    """A deployment with two schedules whose creation is already in the history."""
    deployment = DeploymentFactory(tags=["etl"], parameters={"region": "eu"})
    DeploymentScheduleFactory(deployment=deployment, slug="hourly")
    DeploymentScheduleFactory(deployment=deployment, slug="nightly")
    with change_set(OPS):
        pass
    return deployment


def test_writes_outside_every_door_are_recorded_by_the_next_change_set(recorded):
    first = versions(recorded)[0]
    assert first.kind == "created"
    assert (first.change_set.door, first.change_set.actor_name) == ("other", "outside the catalog")
    assert not PendingChange.objects.exists()


def test_a_queryset_update_records_a_version_with_the_actor_door_and_reason(recorded):
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).update(paused=True)
    latest = versions(recorded)[0]
    assert (latest.number, latest.kind) == (2, "changed")
    change = latest.change_set
    assert (change.actor_kind, change.actor_name, change.door, change.reason) == (
        "system",
        "ops-script",
        "command",
        "quarterly clean-up",
    )
    assert version_changes(latest) == [{"path": "paused", "old": False, "new": True}]


def test_a_write_that_changes_nothing_records_nothing(recorded):
    with change_set(OPS):
        recorded.save()
        DeploymentSchedule.objects.filter(deployment=recorded).update(active=True)
    assert len(versions(recorded)) == 1


def test_a_workers_poll_records_nothing(recorded):
    with change_set(OPS):
        deployment_writes.deployments_polled(deployment_ids=[recorded.pk], context=OPS)
    assert Deployment.objects.get(pk=recorded.pk).status == DeploymentStatus.READY
    assert len(versions(recorded)) == 1
    assert not PendingChange.objects.exists()


def test_one_change_set_groups_everything_one_write_did(recorded):
    other = DeploymentFactory()
    with change_set(OPS), change_set(WriteContext(Actor.system("inner"), Door.API)):
        Deployment.objects.filter(pk__in=[recorded.pk, other.pk]).update(tags=["ml"])
    latest = [versions(recorded)[0], versions(other)[0]]
    assert latest[0].change_set_id == latest[1].change_set_id
    assert latest[0].change_set.actor_name == "ops-script"


def test_a_write_that_fails_records_nothing(recorded):
    sets = ChangeSet.objects.count()
    with pytest.raises(RuntimeError), change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).update(paused=True)
        raise RuntimeError("refused")
    assert ChangeSet.objects.count() == sets
    assert not Deployment.objects.get(pk=recorded.pk).paused


def test_schedule_changes_are_versions_of_the_deployment(recorded):
    with change_set(OPS):
        DeploymentSchedule.objects.filter(deployment=recorded, slug="nightly").update(active=False)
    assert version_changes(versions(recorded)[0]) == [
        {"path": "schedules[slug=nightly].active", "old": True, "new": False}
    ]


def test_a_renamed_pool_is_one_version_of_the_pool_and_none_of_its_deployments():
    queue = WorkQueueFactory()
    deployments = DeploymentFactory.create_batch(3, work_queue=queue)
    with change_set(OPS):
        pass
    with change_set(OPS):
        WorkPool.objects.filter(pk=queue.work_pool_id).update(name="renamed")
    assert [v.kind for v in versions_of_object("work_pool", queue.work_pool_id)] == [
        "changed",
        "created",
    ]
    assert all(len(versions(deployment)) == 1 for deployment in deployments)
    with change_set(OPS):
        Deployment.objects.filter(pk=deployments[0].pk).update(description="moved on")
    assert [c["path"] for c in version_changes(versions(deployments[0])[0])] == ["description"]


def test_a_deleted_deployment_keeps_its_history_and_names(recorded):
    flow_name = recorded.flow.name
    with change_set(OPS):
        Flow.objects.filter(pk=recorded.flow_id).delete()
    latest = versions(recorded)[0]
    assert (latest.kind, latest.name, latest.flow_name, latest.after) == (
        "deleted",
        recorded.name,
        flow_name,
        None,
    )
    flow_version = versions_of_object("flow", recorded.flow_id)[0]
    assert flow_version.kind == "deleted"
    assert flow_version.change_set_id == latest.change_set_id
    assert Version.objects.filter(flow_name=flow_name, name=recorded.name).count() == 2


def test_the_kept_json_is_the_versions_after_and_a_read_costs_one_query(recorded):
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).update(description="kept")
    kept = DeploymentJson.objects.get(pk=recorded.pk).body
    assert json.loads(kept) == json.loads(versions(recorded)[0].after)
    assert json.loads(kept) == rendered_deployments([recorded.pk], "default")[recorded.pk]
    with CaptureQueriesContext(connection) as reads:
        json_cache.deployment_body(recorded.pk)
    assert len(reads) == 1


def test_with_the_history_off_nothing_is_recorded_but_bodies_are_kept(recorded, settings):
    settings.CATALOG_HISTORY = False
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).update(description="unrecorded")
    assert len(versions(recorded)) == 1
    assert not PendingChange.objects.exists()
    assert json.loads(DeploymentJson.objects.get(pk=recorded.pk).body)["description"] == (
        "unrecorded"
    )


# Restore --------------------------------------------------------------------------------


def test_a_restore_brings_the_configuration_back_as_a_new_version(recorded):
    schedule_ids = set(recorded.schedules.values_list("id", flat=True))
    created = recorded.created
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).update(paused=True, parameters={"region": "us"})
        recorded.schedules.filter(slug="hourly").delete()
        Deployment.objects.filter(pk=recorded.pk).update(status=DeploymentStatus.READY)
    restored = deployment_restore(deployment_id=recorded.pk, number=1, context=OPS)
    assert (restored.number, restored.kind, restored.restored_from) == (3, "restored", 1)
    row = Deployment.objects.get(pk=recorded.pk)
    assert (row.paused, row.parameters, row.created) == (False, {"region": "eu"}, created)
    assert row.status == DeploymentStatus.READY
    assert set(row.schedules.values_list("id", flat=True)) == schedule_ids
    assert set(row.schedules.values_list("slug", flat=True)) == {"hourly", "nightly"}


def test_a_deleted_deployment_comes_back_with_its_old_id(recorded):
    deployment_id = recorded.pk
    with change_set(OPS):
        Deployment.objects.filter(pk=deployment_id).delete()
    restored = deployment_restore(deployment_id=deployment_id, number=1, context=OPS)
    assert (restored.number, restored.kind) == (3, "restored")
    assert Deployment.objects.get(pk=deployment_id).name == recorded.name
    assert DeploymentSchedule.objects.filter(deployment_id=deployment_id).count() == 2


def test_the_deletion_itself_cannot_be_restored(recorded):
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).delete()
    with pytest.raises(RestoreRefused, match="records the deletion"):
        deployment_restore(deployment_id=recorded.pk, number=2, context=OPS)


def test_an_unknown_version_is_not_found(recorded):
    with pytest.raises(NotFound):
        deployment_restore(deployment_id=recorded.pk, number=9, context=OPS)


def test_a_restore_onto_a_taken_name_is_refused_and_writes_nothing(recorded):
    with change_set(OPS):
        Deployment.objects.filter(pk=recorded.pk).delete()
    DeploymentFactory(flow=recorded.flow, name=recorded.name)
    sets = door_change_sets("command")
    with pytest.raises(RestoreRefused, match="is taken by another deployment"):
        deployment_restore(deployment_id=recorded.pk, number=1, context=OPS)
    assert not Deployment.objects.filter(pk=recorded.pk).exists()
    assert door_change_sets("command") == sets


def test_a_restore_whose_pool_is_gone_is_refused():
    queue = WorkQueueFactory(work_pool__name="retired")
    deployment = DeploymentFactory(work_queue=queue)
    with change_set(OPS):
        pass
    with change_set(OPS):
        WorkPool.objects.filter(pk=queue.work_pool_id).delete()
    with pytest.raises(RestoreRefused, match='work pool "retired"'):
        deployment_restore(deployment_id=deployment.pk, number=1, context=OPS)


def test_a_restore_whose_shared_limit_is_gone_is_refused():
    limit = ConcurrencyLimitFactory(name="warehouse")
    deployment = DeploymentFactory(global_concurrency_limit=limit)
    with change_set(OPS):
        pass
    with change_set(OPS):
        limit.delete()
    with pytest.raises(Conflict, match='limit "warehouse" is gone'):
        deployment_restore(deployment_id=deployment.pk, number=1, context=OPS)


def test_a_restore_finds_a_recreated_flow_by_name(recorded):
    flow_name = recorded.flow.name
    with change_set(OPS):
        Flow.objects.filter(pk=recorded.flow_id).delete()
    again = FlowFactory(name=flow_name)
    deployment_restore(deployment_id=recorded.pk, number=1, context=OPS)
    assert Deployment.objects.get(pk=recorded.pk).flow_id == again.pk


# Refusals record nothing of their own -----------------------------------------------------


def door_change_sets(door: str) -> int:
    return ChangeSet.objects.filter(door=door).count()


def test_a_refused_api_write_records_nothing(api_client, recorded):
    response = api_client.patch(f"/api/deployments/{recorded.pk}", {"name": "a/b"}, format="json")
    assert response.status_code == 422
    assert door_change_sets("api") == 0


def test_a_refused_admin_save_records_nothing(admin_client, recorded):
    from django.urls import reverse

    from tests.test_admin import form_data

    url = reverse("admin:catalog_deployment_change", args=[recorded.pk])
    response = admin_client.post(url, form_data(recorded, name="a/b"))
    assert response.status_code == 200
    assert door_change_sets("admin") == 0
    assert Deployment.objects.get(pk=recorded.pk).name == recorded.name


def test_a_refused_import_records_nothing(tmp_path, recorded):
    from catalog.importing.records import ImportFailed
    from catalog.importing.run import import_paths

    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"name": "a/b", "flow_name": "etl"}]))
    with pytest.raises(ImportFailed):
        import_paths([path])
    assert door_change_sets("import") == 0


def test_a_too_long_reason_is_refused_before_anything_is_written(api_client, recorded):
    response = api_client.patch(
        f"/api/deployments/{recorded.pk}",
        {"paused": True},
        format="json",
        HTTP_X_CHANGE_REASON="x" * 501,
    )
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["loc"] == ["header", "x-change-reason"]
    assert not Deployment.objects.get(pk=recorded.pk).paused
    assert door_change_sets("api") == 0


def test_an_admin_save_that_changes_nothing_records_nothing(admin_client, recorded):
    from django.urls import reverse

    from tests.test_admin import form_data

    assert (recorded.path, recorded.entrypoint, recorded.description) == (None, None, None)
    url = reverse("admin:catalog_deployment_change", args=[recorded.pk])
    assert admin_client.post(url, form_data(recorded)).status_code == 302
    assert door_change_sets("admin") == 0
    row = Deployment.objects.get(pk=recorded.pk)
    assert (row.path, row.entrypoint, row.description) == (None, None, None)
