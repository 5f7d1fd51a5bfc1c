"""The kept JSON of each deployment: every write path is visible on the next read, on
SQLite and PostgreSQL alike, because the database's own triggers clear what a write
changes; a body rendered before a write is never kept after it."""

import json
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from catalog.importing.run import import_paths
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentJson,
    DeploymentSchedule,
    Flow,
    WorkPool,
    WorkQueue,
)
from catalog.rendering import json_cache
from tests.conftest import page_queries, prefect_file, prefect_json
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db
FULL = "20_get_deployment_full.json"


def read(api_client, deployment) -> dict:
    response = api_client.get(f"/api/deployments/{deployment.id}")
    assert response.status_code == 200, response.content
    return response.json()


def kept_body(deployment) -> str | None:
    return DeploymentJson.objects.get(deployment_id=deployment.id).body


@pytest.fixture
def deployment(api_client):
    """A deployment with a schedule, a queue in a pool and a concurrency limit, read once
    so that its body is kept."""
    row = DeploymentFactory(
        work_queue=WorkQueueFactory(name="gpu", work_pool__name="k8s"),
        global_concurrency_limit=ConcurrencyLimitFactory(name="shared", limit=3),
    )
    DeploymentScheduleFactory(deployment=row)
    read(api_client, row)
    assert kept_body(row) is not None
    return row


def test_a_new_deployment_gets_a_row_to_keep_its_json():
    row = DeploymentFactory()
    assert DeploymentJson.objects.filter(deployment_id=row.id, body=None).exists()


def test_the_kept_body_is_the_rendered_json_byte_for_byte(api_client, deployment):
    first = api_client.get(f"/api/deployments/{deployment.id}").content
    assert kept_body(deployment).encode() == first
    DeploymentJson.objects.filter(deployment_id=deployment.id).update(body=None)
    assert api_client.get(f"/api/deployments/{deployment.id}").content == first


def patch(api_client, path: str, body: dict):
    return api_client.patch(path, json.dumps(body), content_type="application/json")


def test_a_patch_is_read_at_once(api_client, deployment):
    patch(api_client, f"/api/deployments/{deployment.id}", {"description": "new words"})
    assert read(api_client, deployment)["description"] == "new words"


def test_pausing_is_read_at_once(api_client, deployment):
    api_client.post(f"/api/deployments/{deployment.id}/pause_deployment")
    assert read(api_client, deployment)["paused"] is True


def test_schedule_changes_are_read_at_once(api_client, deployment):
    schedule = deployment.schedules.get()
    patch(
        api_client, f"/api/deployments/{deployment.id}/schedules/{schedule.id}", {"active": False}
    )
    assert read(api_client, deployment)["schedules"][0]["active"] is False

    new = [{"schedule": {"cron": "0 9 * * *"}, "active": True}]
    api_client.post(
        f"/api/deployments/{deployment.id}/schedules",
        json.dumps(new),
        content_type="application/json",
    )
    assert len(read(api_client, deployment)["schedules"]) == 2

    DeploymentSchedule.objects.filter(deployment=deployment).delete()
    assert read(api_client, deployment)["schedules"] == []


def test_renaming_the_queue_or_pool_is_read_at_once(api_client, deployment):
    WorkQueue.objects.filter(name="gpu").update(name="cpu")
    assert read(api_client, deployment)["work_queue_name"] == "cpu"
    pool = WorkPool.objects.get(name="k8s")
    pool.name = "docker"
    pool.save()
    assert read(api_client, deployment)["work_pool_name"] == "docker"


def test_changing_or_deleting_the_concurrency_limit_is_read_at_once(api_client, deployment):
    ConcurrencyLimit.objects.filter(name="shared").update(limit=9)
    assert read(api_client, deployment)["global_concurrency_limit"]["limit"] == 9
    ConcurrencyLimit.objects.get(name="shared").delete()
    assert read(api_client, deployment)["global_concurrency_limit"] is None


def test_deleting_the_queue_is_read_at_once(api_client, deployment):
    WorkQueue.objects.get(name="gpu").delete()
    body = read(api_client, deployment)
    assert (body["work_queue_id"], body["work_pool_name"]) == (None, None)


def test_a_bulk_update_is_read_at_once(api_client, deployment):
    Deployment.objects.filter(pk=deployment.pk).update(tags=["bulk"], paused=True)
    body = read(api_client, deployment)
    assert (body["tags"], body["paused"]) == (["bulk"], True)


def test_an_admin_save_is_read_at_once(api_client, client, deployment):
    User.objects.create_superuser("ops", password="pw")
    client.login(username="ops", password="pw")
    url = reverse("admin:catalog_deployment_changelist")
    client.post(url, {"action": "pause", "_selected_action": [str(deployment.pk)]})
    assert read(api_client, deployment)["paused"] is True
    assert read(api_client, deployment)["updated_by"]["display_value"] == "ops"


def test_a_reimport_is_read_at_once(api_client, tmp_path):
    import_paths([prefect_file(FULL)])
    deployment = Deployment.objects.get()
    read(api_client, deployment)
    record = prefect_json(FULL) | {"description": "imported again"}
    (tmp_path / "again.json").write_text(json.dumps(record))
    import_paths([tmp_path / "again.json"])
    assert read(api_client, deployment)["description"] == "imported again"


def test_a_deleted_deployment_is_404_and_its_row_goes_with_it(api_client, deployment):
    api_client.delete(f"/api/deployments/{deployment.id}")
    response = api_client.get(f"/api/deployments/{deployment.id}")
    assert (response.status_code, response.json()) == (404, {"detail": "Deployment not found"})
    assert not DeploymentJson.objects.filter(deployment_id=deployment.id).exists()


def test_deleting_the_flow_takes_the_kept_json_too(api_client, deployment):
    Flow.objects.filter(pk=deployment.flow_id).delete()
    assert api_client.get(f"/api/deployments/{deployment.id}").status_code == 404
    assert not DeploymentJson.objects.exists()


def test_a_deployment_deleted_and_imported_again_with_its_id_is_read_anew(api_client, tmp_path):
    import_paths([prefect_file(FULL)])
    deployment = Deployment.objects.get()
    read(api_client, deployment)
    Deployment.objects.filter(pk=deployment.pk).delete()
    record = prefect_json(FULL) | {"version": "back again"}
    (tmp_path / "back.json").write_text(json.dumps(record))
    import_paths([tmp_path / "back.json"])
    assert read(api_client, deployment)["version"] == "back again"


def test_a_body_rendered_before_a_write_is_not_kept_after_it(deployment):
    DeploymentJson.objects.filter(deployment_id=deployment.id).update(body=None)
    version_read = DeploymentJson.objects.get(deployment_id=deployment.id).version
    Deployment.objects.filter(pk=deployment.pk).update(description="written meanwhile")
    json_cache.keep([(b'{"stale": true}', deployment.id, version_read)])
    assert kept_body(deployment) is None


def test_migrate_installs_the_triggers_again_and_clears_every_body(api_client, deployment):
    call_command("migrate", verbosity=0)
    assert kept_body(deployment) is None
    Deployment.objects.filter(pk=deployment.pk).update(description="after migrate")
    assert read(api_client, deployment)["description"] == "after migrate"


def test_filter_and_paginate_serve_the_same_bodies_as_the_detail(api_client, deployment):
    detail = read(api_client, deployment)
    listed = api_client.post(
        "/api/deployments/filter", "{}", content_type="application/json"
    ).json()
    page = api_client.post(
        "/api/deployments/paginate", "{}", content_type="application/json"
    ).json()
    assert listed == [detail] and page["results"] == [detail]
    patch(api_client, f"/api/deployments/{deployment.id}", {"version": "9"})
    listed = api_client.post(
        "/api/deployments/filter", "{}", content_type="application/json"
    ).json()
    assert listed[0]["version"] == "9"


def test_a_read_carries_an_etag_and_answers_304_while_nothing_changed(api_client, deployment):
    path = f"/api/deployments/{deployment.id}"
    etag = api_client.get(path)["ETag"]
    unchanged = api_client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)
    patch(api_client, path, {"description": "changed"})
    changed = api_client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_page_s_bodies_come_in_the_page_s_order_kept_or_rendered(
    api_client, deployment, django_assert_num_queries
):
    """Kept bodies are read in one query (one array of ids on PostgreSQL); a body not
    kept yet is rendered; the id of a deployment gone meanwhile is left out."""
    cold = DeploymentFactory()
    gone = DeploymentFactory()
    gone_id = gone.id
    gone.delete()
    ids = [cold.id, gone_id, deployment.id]
    expected = {deployment.id: kept_body(deployment)}
    with django_assert_num_queries(1):
        assert json_cache.kept_bodies([cold.id, deployment.id, gone_id]) == expected
    bodies = [json.loads(body) for body in json_cache.deployment_bodies(ids)]
    assert [body["id"] for body in bodies] == [str(cold.id), str(deployment.id)]
    assert bodies == [read(api_client, cold), read(api_client, deployment)]
    assert json_cache.kept_bodies([]) == {}


PAGE_ORDERS = [
    ["name", "id"],
    ["-name", "-id"],
    ["-name", "id"],
    ["-created", "id"],
    ["-updated", "id"],
]
# The plain query, a tag's rows, and several tags' branches merged.
PAGE_FILTERS = [{}, {"tags__has_any_tags": ["odd"]}, {"tags__has_any_tags": ["odd", "third"]}]


@pytest.mark.parametrize("order", PAGE_ORDERS, ids=[",".join(order) for order in PAGE_ORDERS])
@pytest.mark.parametrize("lookup", PAGE_FILTERS, ids=["plain", "one tag", "two tags"])
def test_a_page_of_bodies_is_the_plain_query_s_page_kept_or_rendered(
    api_client, order, lookup, django_assert_num_queries
):
    """`page_bodies` reads the page's ids and their kept bodies together on PostgreSQL
    (apart on SQLite): the deployments of the plain query's page, in its order, a body
    not kept rendered and kept, whatever way the page's ids are read."""
    for n in range(14):
        tags = ["odd"] * (n % 2) + ["third"] * (n % 3 == 0)
        DeploymentFactory(name=f"page-{n % 5}", tags=tags)  # names tie: the id decides
    for _ in json_cache.warm_bodies():
        pass
    matching = Deployment.objects.filter(**lookup)
    ids = list(matching.order_by(*order).values_list("id", flat=True))[2:7]
    DeploymentJson.objects.filter(deployment_id__in=ids[1::2]).update(body=None)
    with django_assert_num_queries(page_queries() + 4):  # versions, rows, schedules, keep
        cold = json_cache.page_bodies(matching, order, 2, 5)
    with django_assert_num_queries(page_queries()):
        warm = json_cache.page_bodies(matching, order, 2, 5)
    assert warm == cold
    assert [json.loads(body) for body in cold] == [
        read(api_client, Deployment(id=id)) for id in ids
    ]
    with django_assert_num_queries(1):
        assert json_cache.page_bodies(matching, order, 50, 5) == []
    assert json_cache.page_bodies(Deployment.objects.filter(id__in=[]), order, 0, 5) == []


def compressions() -> set:
    """How PostgreSQL compressed each kept body (None: not compressed, too short)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT pg_column_compression(body) FROM catalog_deploymentjson "
            "WHERE body IS NOT NULL"
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_bodies_are_kept_in_lz4_whichever_way_they_are_kept(api_client, tmp_path):
    """Migration 0025: lz4 for the body column. A body copied from a table that had
    compressed it keeps that table's compression, so the importer's scratch table leaves
    its bodies uncompressed."""
    long = "A description long enough to be compressed. " * 200
    record = prefect_json(FULL) | {"description": long, "schedules": []}
    records = [record | {"id": str(uuid.uuid4()), "name": f"lz4-{n}"} for n in range(30)]
    (tmp_path / "many.json").write_text(json.dumps(records))
    import_paths([tmp_path / "many.json"])  # kept through the scratch table (COPY)
    assert DeploymentJson.objects.filter(body__isnull=True).count() == 0
    assert compressions() == {"lz4"}
    (tmp_path / "one.json").write_text(json.dumps(records[0] | {"description": long + "!"}))
    import_paths([tmp_path / "one.json"])  # kept by one statement
    json_cache.install_triggers()  # as `migrate` does: every body cleared ...
    assert compressions() == set()
    for _ in json_cache.warm_bodies():  # ... and kept again, by warming
        pass
    assert compressions() == {"lz4"}
    assert read(api_client, Deployment.objects.get(name="lz4-0"))["description"] == long + "!"
