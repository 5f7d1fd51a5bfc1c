"""The change history through the API door: what API writes record, and the history and
restore routes (`catalog/api/views/history.py`)."""

from urllib.parse import quote

import pytest
from django.contrib.auth.models import Permission, User

from catalog.models import ChangeSet, Deployment, ObjectType, Version, WorkPool
from catalog.rules.datetimes import format_utc
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set
from catalog.services.history_restore import deployment_restore
from catalog.services.work_pools import work_pool_ensure, work_pool_save
from tests.factories import (
    ApiKeyFactory,
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db

REASON = "Nächtlicher Lauf verschoben → 02:00"
COMMAND = WriteContext(Actor.system("a test"), Door.COMMAND)
# The factory's schedule, as the API writes it.
ANCHOR = "2026-01-01T00:00:00Z"
HOURLY = {"interval": 3600.0, "anchor_date": ANCHOR, "timezone": "UTC"}
# What the history leaves out of a schedule.
RUNTIME = {"created", "updated", "deployment_id"}


@pytest.fixture
def keys_required(settings):
    settings.CATALOG_ANONYMOUS_READ = False


def patch(client, deployment, body: dict, **headers):
    return client.patch(f"/api/deployments/{deployment.id}", body, format="json", **headers)


def history(client, deployment_id, **query):
    return client.get(f"/api/deployments/{deployment_id}/history", query)


def restore(client, deployment_id, number: int, **headers):
    return client.post(f"/api/deployments/{deployment_id}/history/{number}/restore", **headers)


def deployment_body(client, deployment) -> dict:
    return client.get(f"/api/deployments/{deployment.id}").json()


def versions_of(deployment_id) -> list[tuple[int, str, str]]:
    """Each version's number, kind and door, newest first."""
    rows = Version.objects.filter(object_type=ObjectType.DEPLOYMENT, object_id=deployment_id)
    return list(rows.order_by("-number").values_list("number", "kind", "change_set__door"))


def api_versions():
    return Version.objects.filter(change_set__door=Door.API)


def latest(deployment_id) -> Version:
    rows = Version.objects.filter(object_type=ObjectType.DEPLOYMENT, object_id=deployment_id)
    return rows.select_related("change_set").order_by("-number").first()


def key_actor(key) -> dict:
    return {"kind": "api_key", "name": f"{key.name} ({key.prefix}…)", "id": str(key.pk)}


def entry(row: Version, actor: dict, changes: list[dict], **fields) -> dict:
    """The history entry expected for the version `row`: its stored facts, `actor` and
    `changes` as the test states them, and any field `fields` states."""
    return {
        "version": row.number,
        "at": format_utc(row.at),
        "kind": row.kind,
        "actor": actor,
        "door": row.change_set.door,
        "reason": row.change_set.reason,
        "change_set": str(row.change_set_id),
        "restored_from": row.restored_from,
        "changes": changes,
        **fields,
    }


def in_path_order(item: dict) -> dict:
    """A history entry with its changes by path: schedules come in the order of their
    last update, which two made in one test may share."""
    return {**item, "changes": sorted(item["changes"], key=lambda change: change["path"])}


def user_with(*codenames: str) -> User:
    user = User.objects.create_user("editor", password="a-password")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def bearer(key) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key.secret}"}


# What API writes record ------------------------------------------------------------------


def test_a_patch_records_one_version_by_its_key_with_the_reason_and_the_changed_paths(
    api_client, write_key
):
    deployment = DeploymentFactory(description="old", parameters={"region": "eu", "keep": 1})
    response = patch(
        api_client,
        deployment,
        {"description": "new", "parameters": {"region": "us", "keep": 1}, "tags": ["etl"]},
        HTTP_X_CHANGE_REASON=quote(REASON),
    )
    assert response.status_code == 204
    version = api_versions().select_related("change_set").get()
    assert history(api_client, deployment.id).json()["results"][0] == entry(
        version,
        key_actor(write_key),
        [
            {"path": "description", "old": "old", "new": "new"},
            {"path": "parameters.region", "old": "eu", "new": "us"},
            {"path": "tags", "old": [], "new": ["etl"]},
        ],
        version=2,
        kind="changed",
        door="api",
        reason=REASON,
    )


@pytest.mark.parametrize(
    "header",
    [REASON.encode().decode("latin-1"), quote(REASON), f"  {quote(REASON)}  "],
    ids=["raw-utf-8", "percent-encoded", "padded"],
)
def test_a_reason_sent_raw_or_percent_encoded_is_the_same_text(api_client, header):
    deployment = DeploymentFactory()
    assert (
        patch(api_client, deployment, {"version": "2"}, HTTP_X_CHANGE_REASON=header).status_code
        == 204
    )
    assert list(ChangeSet.objects.filter(door=Door.API).values_list("reason", flat=True)) == [
        REASON
    ]


def test_a_patch_that_changes_nothing_records_nothing(api_client):
    deployment = DeploymentFactory(description="same", tags=["etl"])
    assert (
        patch(api_client, deployment, {"description": "same", "tags": ["etl"]}).status_code == 204
    )
    assert versions_of(deployment.id) == [(1, "created", "other")]
    assert not ChangeSet.objects.filter(door=Door.API).exists()


def test_pausing_a_paused_deployment_records_nothing(api_client):
    deployment = DeploymentFactory(paused=True)
    response = api_client.post(f"/api/deployments/{deployment.id}/pause_deployment")
    assert (response.status_code, response.content) == (200, b"null")
    assert versions_of(deployment.id) == [(1, "created", "other")]
    assert not ChangeSet.objects.filter(door=Door.API).exists()


def test_a_workers_poll_records_nothing(api_client):
    deployment = DeploymentFactory()
    response = api_client.post(
        "/api/deployments/get_scheduled_flow_runs",
        {"deployment_ids": [str(deployment.id)]},
        format="json",
    )
    assert (response.status_code, response.json()) == (200, [])
    assert Deployment.objects.get(id=deployment.id).status == "READY"
    assert versions_of(deployment.id) == [(1, "created", "other")]
    assert not ChangeSet.objects.filter(door=Door.API).exists()


def test_a_reason_past_500_characters_is_a_422_at_the_header_and_changes_nothing(api_client):
    deployment = DeploymentFactory(description="kept")
    before = deployment_body(api_client, deployment)
    reason = "r" * 501
    response = patch(api_client, deployment, {"description": "lost"}, HTTP_X_CHANGE_REASON=reason)
    assert (response.status_code, response.json()) == (
        422,
        {
            "exception_message": "Invalid request received.",
            "exception_detail": [
                {
                    "type": "string_too_long",
                    "loc": ["header", "x-change-reason"],
                    "msg": "String should have at most 500 characters",
                    "input": reason,
                    "ctx": {"max_length": 500},
                }
            ],
            "request_body": {"description": "lost"},
        },
    )
    assert deployment_body(api_client, deployment) == before
    assert not ChangeSet.objects.filter(door=Door.API).exists()


def test_a_bulk_delete_of_three_records_three_deleted_versions_in_one_change_set(api_client):
    chosen = DeploymentFactory.create_batch(3, tags=["old"])
    kept = DeploymentFactory()
    response = api_client.post(
        "/api/deployments/bulk_delete",
        {"deployments": {"tags": {"all_": ["old"]}}},
        format="json",
    )
    assert response.status_code == 200
    deleted = api_versions().order_by("object_id")
    assert [(v.object_id, v.number, v.kind, v.after) for v in deleted] == [
        (d.id, 2, "deleted", None) for d in sorted(chosen, key=lambda d: d.id)
    ]
    assert len({version.change_set_id for version in deleted}) == 1
    assert versions_of(kept.id) == [(1, "created", "other")]


def test_deleting_a_flow_records_its_deployments_and_itself_deleted_in_one_change_set(
    api_client,
):
    flow = FlowFactory(name="nightly")
    first, second = DeploymentFactory.create_batch(2, flow=flow)
    assert api_client.delete(f"/api/flows/{flow.id}").status_code == 204
    recorded = api_versions().order_by("object_type", "name")
    assert [(v.object_type, v.object_id, v.kind, v.name, v.flow_name) for v in recorded] == [
        ("deployment", first.id, "deleted", first.name, "nightly"),
        ("deployment", second.id, "deleted", second.name, "nightly"),
        ("flow", flow.id, "deleted", "nightly", None),
    ]
    assert len({version.change_set_id for version in recorded}) == 1


def test_schedules_a_patch_changes_show_at_their_slugs(api_client):
    deployment = DeploymentFactory()
    DeploymentScheduleFactory(deployment=deployment, slug="daily")
    DeploymentScheduleFactory(deployment=deployment, slug="hourly")
    response = patch(
        api_client,
        deployment,
        {
            "schedules": [
                {"slug": "daily", "schedule": {"cron": "0 2 * * *"}},
                {"slug": "hourly", "schedule": HOURLY, "active": False},
            ]
        },
    )
    assert response.status_code == 204
    assert in_path_order(history(api_client, deployment.id).json()["results"][0])["changes"] == [
        {"path": "schedules[slug=daily].schedule.anchor_date", "old": ANCHOR, "new": None},
        {"path": "schedules[slug=daily].schedule.cron", "old": None, "new": "0 2 * * *"},
        {"path": "schedules[slug=daily].schedule.day_or", "old": None, "new": True},
        {"path": "schedules[slug=daily].schedule.interval", "old": 3600.0, "new": None},
        {"path": "schedules[slug=daily].schedule.timezone", "old": "UTC", "new": None},
        {"path": "schedules[slug=hourly].active", "old": True, "new": False},
    ]


def test_renaming_a_work_pool_records_the_pool_and_not_its_deployments(api_client):
    pool = work_pool_ensure("old-pool")
    deployment = DeploymentFactory(work_queue=pool.default_queue)
    with change_set(COMMAND):
        pool.name = "new-pool"
        work_pool_save(pool=pool, renamed=True, context=COMMAND)
    renamed = Version.objects.filter(change_set__door=Door.COMMAND)
    assert [(v.object_type, v.object_id, v.number, v.name) for v in renamed] == [
        ("work_pool", pool.id, 2, "new-pool")
    ]
    assert versions_of(deployment.id) == [(1, "created", "other")]
    # The deployment's next change is its own, not the pool's new name.
    assert patch(api_client, deployment, {"description": "moved"}).status_code == 204
    assert history(api_client, deployment.id).json()["results"][0]["changes"] == [
        {"path": "description", "old": None, "new": "moved"}
    ]


# GET /api/deployments/{id}/history ---------------------------------------------------------


def test_the_history_lists_versions_newest_first_with_their_changes(api_client, write_key):
    deployment = DeploymentFactory(version="1")
    for number in ("2", "3"):
        assert patch(api_client, deployment, {"version": number}).status_code == 204
    rows = Version.objects.filter(object_id=deployment.id).select_related("change_set")
    first, second, third = rows.order_by("number")
    outside = {"kind": "system", "name": "outside the catalog", "id": None}
    created = history(api_client, deployment.id).json()["results"][2]["changes"]
    assert history(api_client, deployment.id).json() == {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [
            entry(third, key_actor(write_key), [{"path": "version", "old": "2", "new": "3"}]),
            entry(second, key_actor(write_key), [{"path": "version", "old": "1", "new": "2"}]),
            entry(first, outside, created),
        ],
    }
    assert {"path": "version", "old": None, "new": "1"} in created


def test_a_deployment_with_no_version_yet_has_an_empty_history(api_client):
    deployment = DeploymentFactory()
    assert history(api_client, deployment.id).json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


def test_an_id_with_no_version_and_no_deployment_is_404(api_client):
    response = history(api_client, "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
    assert (response.status_code, response.json()) == (404, {"detail": "Deployment not found"})


def test_a_malformed_id_is_the_routes_404(api_client):
    response = api_client.get("/api/deployments/not-an-id/history")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


def test_a_deleted_deployments_history_stays_readable(api_client):
    deployment = DeploymentFactory()
    assert api_client.delete(f"/api/deployments/{deployment.id}").status_code == 204
    body = history(api_client, deployment.id).json()
    assert [(item["version"], item["kind"]) for item in body["results"]] == [
        (2, "deleted"),
        (1, "created"),
    ]
    assert {"path": "name", "old": deployment.name, "new": None} in body["results"][0]["changes"]


def test_the_history_pages_with_limit_and_offset(api_client):
    deployment = DeploymentFactory(version="0")
    for number in range(1, 5):
        assert patch(api_client, deployment, {"version": str(number)}).status_code == 204
    page = history(api_client, deployment.id, limit=2, offset=1).json()
    base = f"http://testserver/api/deployments/{deployment.id}/history"
    assert (page["count"], page["next"], page["previous"]) == (
        5,
        f"{base}?limit=2&offset=3",
        f"{base}?limit=2",
    )
    assert [item["version"] for item in page["results"]] == [4, 3]
    assert [item["version"] for item in history(api_client, deployment.id).json()["results"]] == [
        5,
        4,
        3,
        2,
        1,
    ]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"limit": 0}, "limit: Ensure this value is greater than or equal to 1."),
        ({"limit": 201}, "limit: Ensure this value is less than or equal to 200."),
        ({"limit": "ten"}, "limit: Enter a whole number."),
        ({"offset": -1}, "offset: Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_bad_limit_or_offset_is_a_400_naming_it(api_client, query, detail):
    deployment = DeploymentFactory()
    response = history(api_client, deployment.id, **query)
    assert (response.status_code, response.json()) == (400, {"detail": detail})


@pytest.mark.parametrize("changes", [2, 30])
def test_the_history_takes_two_queries_whatever_the_number_of_versions(
    api_client, django_assert_num_queries, changes
):
    deployment = DeploymentFactory(version="0")
    for number in range(1, changes + 1):
        with change_set(COMMAND):
            Deployment.objects.filter(id=deployment.id).update(version=str(number))
    # The count, and the page with each version's JSON before it.
    with django_assert_num_queries(2):
        response = history(api_client, deployment.id, limit=200)
    assert len(response.json()["results"]) == changes + 1


def test_reading_the_history_is_a_read_open_while_anonymous_reads_are(anonymous_client):
    deployment = DeploymentFactory()
    assert history(anonymous_client, deployment.id).status_code == 200


def test_with_anonymous_reads_off_a_read_only_key_reads_the_history(
    anonymous_client, keys_required
):
    deployment = DeploymentFactory()
    assert history(anonymous_client, deployment.id).status_code == 401
    key = ApiKeyFactory(access="read")
    assert (
        anonymous_client.get(f"/api/deployments/{deployment.id}/history", **bearer(key)).status_code
        == 200
    )


# POST /api/deployments/{id}/history/{version}/restore ------------------------------------


def changed_deployment(client) -> tuple[Deployment, dict]:
    """A deployment with two schedules and a limit of its own (its version 2), then
    changed by a PATCH (3) and a schedule's DELETE (4); and its body at version 2."""
    deployment = DeploymentFactory(description="first", tags=["etl"], parameters={"n": 1})
    DeploymentScheduleFactory(deployment=deployment, slug="daily")
    hourly = DeploymentScheduleFactory(deployment=deployment, slug="hourly", active=False)
    assert patch(client, deployment, {"concurrency_limit": 3}).status_code == 204
    before = deployment_body(client, deployment)
    response = patch(
        client,
        deployment,
        {
            "description": "second",
            "tags": ["etl", "new"],
            "parameters": {"n": 2},
            "concurrency_limit": 5,
            "schedules": [
                {"slug": "daily", "schedule": {"cron": "0 2 * * *"}},
                {"slug": "weekly", "schedule": {"cron": "0 0 * * 0"}},
            ],
        },
    )
    assert response.status_code == 204
    schedule = f"/api/deployments/{deployment.id}/schedules/{hourly.id}"
    assert client.delete(schedule).status_code == 204
    return deployment, before


def test_a_restore_brings_the_configuration_back_as_a_new_version(api_client, write_key):
    deployment, before = changed_deployment(api_client)
    api_client.post(
        "/api/deployments/get_scheduled_flow_runs",
        {"deployment_ids": [str(deployment.id)]},
        format="json",
    )
    polled = deployment_body(api_client, deployment)
    response = restore(api_client, deployment.id, 2, HTTP_X_CHANGE_REASON="rolled back")
    assert response.status_code == 200
    weekly, hourly = schedule_of(polled, "weekly"), schedule_of(before, "hourly")
    assert in_path_order(response.json()) == entry(
        latest(deployment.id),
        key_actor(write_key),
        [
            {"path": "description", "old": "second", "new": "first"},
            {"path": "global_concurrency_limit.limit", "old": 5, "new": 3},
            {"path": "parameters.n", "old": 2, "new": 1},
            {"path": "schedules[slug=daily].schedule.anchor_date", "old": None, "new": ANCHOR},
            {"path": "schedules[slug=daily].schedule.cron", "old": "0 2 * * *", "new": None},
            {"path": "schedules[slug=daily].schedule.day_or", "old": True, "new": None},
            {"path": "schedules[slug=daily].schedule.interval", "old": None, "new": 3600.0},
            {"path": "schedules[slug=daily].schedule.timezone", "old": None, "new": "UTC"},
            {"path": "schedules[slug=hourly]", "old": None, "new": hourly},
            {"path": "schedules[slug=weekly]", "old": weekly, "new": None},
            {"path": "tags", "old": ["etl", "new"], "new": ["etl"]},
        ],
        version=5,
        kind="restored",
        reason="rolled back",
        restored_from=2,
    )
    restored = deployment_body(api_client, deployment)
    assert without_update_times(restored) == without_update_times(
        {**before, "status": "READY", "last_polled": polled["last_polled"]}
    )
    assert restored["created"] == before["created"]


def schedule_of(body: dict, slug: str) -> dict:
    """A schedule of the body as the history shows it: without its runtime fields."""
    found = next(schedule for schedule in body["schedules"] if schedule["slug"] == slug)
    return {key: value for key, value in found.items() if key not in RUNTIME}


def without_update_times(body: dict) -> dict:
    """The body without what every write moves: its, its schedules' and its limit's
    `updated` (and so the schedules' order)."""
    schedules = sorted(({**s, "updated": None} for s in body["schedules"]), key=str)
    limit = body["global_concurrency_limit"]
    limit = limit and {**limit, "updated": None}
    return {**body, "updated": None, "schedules": schedules, "global_concurrency_limit": limit}


def test_a_restore_to_the_state_it_has_records_nothing_and_answers_the_latest_version(
    api_client, write_key
):
    deployment = DeploymentFactory(description="first")
    assert patch(api_client, deployment, {"description": "second"}).status_code == 204
    response = restore(api_client, deployment.id, 2)
    assert response.status_code == 200
    assert response.json() == entry(
        latest(deployment.id),
        key_actor(write_key),
        [{"path": "description", "old": "first", "new": "second"}],
    )
    assert versions_of(deployment.id) == [(2, "changed", "api"), (1, "created", "other")]
    assert ChangeSet.objects.filter(door=Door.API).count() == 1


def test_a_deleted_deployment_comes_back_with_its_old_id(api_client):
    deployment = DeploymentFactory(description="kept")
    DeploymentScheduleFactory(deployment=deployment, slug="daily")
    before = deployment_body(api_client, deployment)
    assert api_client.delete(f"/api/deployments/{deployment.id}").status_code == 204
    response = restore(api_client, deployment.id, 1)
    assert (response.status_code, response.json()["kind"], response.json()["version"]) == (
        200,
        "restored",
        3,
    )
    assert without_update_times(deployment_body(api_client, deployment)) == without_update_times(
        before
    )
    assert [
        (item["version"], item["kind"])
        for item in history(api_client, deployment.id).json()["results"]
    ] == [(3, "restored"), (2, "deleted"), (1, "created")]


def test_restoring_a_deletion_is_a_409_saying_so(api_client):
    deployment = DeploymentFactory()
    assert api_client.delete(f"/api/deployments/{deployment.id}").status_code == 204
    response = restore(api_client, deployment.id, 2)
    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "Version 2 records the deletion: it holds no configuration to "
            "restore. Restore an earlier version."
        },
    )


def test_an_unknown_version_is_404(api_client):
    deployment = DeploymentFactory()
    assert patch(api_client, deployment, {"description": "x"}).status_code == 204
    for number in (0, 3, 2**63):
        response = restore(api_client, deployment.id, number)
        assert (response.status_code, response.json()) == (404, {"detail": "Version not found."})


def test_a_restore_whose_name_another_deployment_took_is_a_409_and_writes_nothing(api_client):
    flow = FlowFactory(name="nightly")
    deployment = DeploymentFactory(flow=flow, name="etl")
    assert api_client.delete(f"/api/deployments/{deployment.id}").status_code == 204
    other = DeploymentFactory(flow=flow, name="etl")
    before = deployment_body(api_client, other)
    response = restore(api_client, deployment.id, 1)
    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": f'The name "nightly/etl" is taken by another deployment ({other.id}) '
            "now: rename or delete it first."
        },
    )
    assert not Deployment.objects.filter(id=deployment.id).exists()
    assert deployment_body(api_client, other) == before
    assert versions_of(deployment.id) == [(2, "deleted", "api"), (1, "created", "other")]


def test_a_restore_whose_work_pool_is_gone_is_a_409_and_writes_nothing(api_client):
    queue = WorkQueueFactory(name="fast", work_pool__name="k8s")
    deployment = DeploymentFactory(work_queue=queue)
    assert patch(api_client, deployment, {"description": "x"}).status_code == 204
    with change_set(COMMAND):
        queue.work_pool.delete()
    before = deployment_body(api_client, deployment)
    response = restore(api_client, deployment.id, 2)
    assert (response.status_code, response.json()) == (
        409,
        {"detail": 'The work pool "k8s" (queue "fast") is gone: make it again first.'},
    )
    assert deployment_body(api_client, deployment) == before
    assert [number for number, _, _ in versions_of(deployment.id)] == [3, 2, 1]


def test_a_restore_the_rules_refuse_now_is_a_422_saying_why(api_client):
    pool = work_pool_ensure("k8s")
    set_cpu_type(pool, "integer")
    deployment = DeploymentFactory(work_queue=pool.default_queue, job_variables={"cpu": 1})
    assert patch(api_client, deployment, {"description": "x"}).status_code == 204
    with change_set(COMMAND):
        set_cpu_type(pool, "string")
        Deployment.objects.filter(id=deployment.id).update(job_variables={"cpu": "1"})
    response = restore(api_client, deployment.id, 2)
    assert (response.status_code, response.json()) == (
        422,
        {
            "detail": "Error restoring deployment: job_variables: Validation failed for "
            "field 'cpu'. Failure reason: 1 is not valid under any of the given schemas"
        },
    )
    assert Deployment.objects.get(id=deployment.id).job_variables == {"cpu": "1"}
    assert [number for number, _, _ in versions_of(deployment.id)] == [3, 2, 1]


def set_cpu_type(pool: WorkPool, kind: str) -> None:
    variables = {"type": "object", "properties": {"cpu": {"type": kind}}}
    template = {"job_configuration": {}, "variables": variables}
    WorkPool.objects.filter(id=pool.id).update(base_job_template=template)


def test_a_restore_links_the_shared_limit_its_version_linked(api_client):
    limit = ConcurrencyLimitFactory(name="shared")
    deployment = DeploymentFactory(global_concurrency_limit=limit)
    assert patch(api_client, deployment, {"description": "x"}).status_code == 204
    assert patch(api_client, deployment, {"global_concurrency_limit_id": None}).status_code == 204
    assert restore(api_client, deployment.id, 2).status_code == 200
    linked = deployment_body(api_client, deployment)["global_concurrency_limit"]
    assert (linked["id"], linked["name"]) == (str(limit.id), "shared")


def test_a_restore_is_a_write_a_read_only_key_may_not_make(anonymous_client):
    deployment = DeploymentFactory()
    key = ApiKeyFactory(access="read")
    response = restore(anonymous_client, deployment.id, 1, **bearer(key))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "This API key is read-only."},
    )


def test_a_restore_needs_the_users_change_permission(anonymous_client, api_client):
    deployment = DeploymentFactory()
    assert patch(api_client, deployment, {"description": "x"}).status_code == 204
    key = ApiKeyFactory(user=user_with("view_deployment", "add_deployment"))
    response = restore(anonymous_client, deployment.id, 1, **bearer(key))
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Permission denied: this needs catalog.change_deployment."},
    )
    assert latest(deployment.id).number == 2


def test_restoring_a_deleted_deployment_also_needs_the_add_permission(anonymous_client, api_client):
    deployment = DeploymentFactory()
    assert api_client.delete(f"/api/deployments/{deployment.id}").status_code == 204
    key = ApiKeyFactory(user=user_with("change_deployment"))
    response = restore(anonymous_client, deployment.id, 1, **bearer(key))
    assert (response.status_code, response.json()) == (
        403,
        {
            "detail": "Permission denied: this needs catalog.add_deployment and "
            "catalog.change_deployment."
        },
    )
    key.user.user_permissions.add(Permission.objects.get(codename="add_deployment"))
    assert restore(anonymous_client, deployment.id, 1, **bearer(key)).status_code == 200
    assert latest(deployment.id).change_set.actor_name == f"{key.name} ({key.prefix}…)"


# The write core's restore inside a door's change set ---------------------------------------


def test_a_restore_inside_an_open_change_set_returns_the_version_it_recorded():
    deployment = DeploymentFactory(description="first")
    with change_set(COMMAND):
        Deployment.objects.filter(id=deployment.id).update(description="second")
    with change_set(COMMAND):
        restored = deployment_restore(deployment_id=deployment.id, number=1, context=COMMAND)
        assert (restored.number, restored.kind, restored.restored_from) == (3, "restored", 1)
    assert ChangeSet.objects.filter(door=Door.COMMAND).count() == 2
    assert Deployment.objects.get(id=deployment.id).description == "first"
