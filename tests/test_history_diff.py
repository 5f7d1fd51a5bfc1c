"""What counts as a change of configuration, and how each change is named."""

import copy

from catalog.rules.history_diff import changes, is_change

DEPLOYMENT_ID = "5f0c4b7e-2d0a-4b8e-9a34-1c2f7b8d9e01"


def deployment(**fields) -> dict:
    body = {
        "id": DEPLOYMENT_ID,
        "created": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z",
        "name": "nightly",
        "paused": False,
        "schedules": [
            schedule("daily", "0 9 * * *"),
            schedule("weekly", "0 9 * * 1"),
        ],
        "global_concurrency_limit": None,
        "parameters": {"region": "eu", "limits": {"rows": 10}},
        "tags": ["etl"],
        "work_queue_name": "default",
        "work_queue_id": "9a1c1f0e-0000-4000-8000-000000000001",
        "work_pool_name": "k8s",
        "last_polled": None,
        "status": "NOT_READY",
        "updated_by": None,
    }
    body.update(fields)
    return body


def schedule(slug: str, cron: str, schedule_id: str | None = None) -> dict:
    return {
        "id": schedule_id or f"id-{slug}",
        "created": "2026-01-01T00:00:00Z",
        "updated": "2026-01-01T00:00:00Z",
        "deployment_id": DEPLOYMENT_ID,
        "schedule": {"cron": cron, "timezone": "UTC", "day_or": True},
        "active": True,
        "max_scheduled_runs": None,
        "parameters": {},
        "slug": slug,
    }


def test_runtime_state_is_not_a_change():
    polled = deployment(
        status="READY",
        last_polled="2026-02-01T00:00:00Z",
        updated="2026-02-01T00:00:00Z",
        updated_by={"id": "x", "type": "USER", "display_value": "ops"},
    )
    assert not is_change("deployment", deployment(), polled)


def test_schedules_are_matched_by_slug_whatever_their_order():
    before = deployment()
    after = deployment(schedules=list(reversed(before["schedules"])))
    after["schedules"][0]["updated"] = "2026-03-01T00:00:00Z"
    assert not is_change("deployment", before, after)


def test_a_changed_schedule_is_named_by_its_slug():
    after = deployment(schedules=[schedule("daily", "30 9 * * *"), schedule("weekly", "0 9 * * 1")])
    assert changes("deployment", deployment(), after) == [
        {"path": "schedules[slug=daily].schedule.cron", "old": "0 9 * * *", "new": "30 9 * * *"}
    ]


def test_an_added_and_a_removed_schedule_show_whole():
    added = schedule("monthly", "0 9 1 * *")
    after = deployment(schedules=[schedule("daily", "0 9 * * *"), added])
    found = changes("deployment", deployment(), after)
    assert [change["path"] for change in found] == [
        "schedules[slug=weekly]",
        "schedules[slug=monthly]",
    ]
    assert found[0]["new"] is None
    assert found[1]["old"] is None
    assert found[1]["new"]["schedule"]["cron"] == "0 9 1 * *"


def test_a_schedule_without_slug_is_named_by_its_id():
    before = deployment(schedules=[schedule(None, "0 9 * * *", "abc")])
    after = deployment(schedules=[schedule(None, "0 10 * * *", "abc")])
    assert changes("deployment", before, after)[0]["path"] == "schedules[id=abc].schedule.cron"


def test_nested_values_have_json_paths():
    after = deployment(parameters={"region": "us", "limits": {"rows": 20}, "new.key": 1})
    assert changes("deployment", deployment(), after) == [
        {"path": "parameters.region", "old": "eu", "new": "us"},
        {"path": "parameters.limits.rows", "old": 10, "new": 20},
        {"path": 'parameters["new.key"]', "old": None, "new": 1},
    ]


def test_lists_of_one_length_are_compared_item_by_item():
    after = deployment(tags=["ml"])
    assert changes("deployment", deployment(), after) == [
        {"path": "tags[0]", "old": "etl", "new": "ml"}
    ]


def test_a_renamed_pool_is_the_pools_change_not_the_deployments():
    renamed = deployment(work_pool_name="k8s-prod", work_queue_name="critical")
    assert not is_change("deployment", deployment(), renamed)


def test_moving_to_another_queue_is_the_deployments_change():
    moved = deployment(
        work_queue_id="9a1c1f0e-0000-4000-8000-000000000002",
        work_queue_name="gpu",
        work_pool_name="gpu-pool",
    )
    assert [change["path"] for change in changes("deployment", deployment(), moved)] == [
        "work_queue_name",
        "work_queue_id",
        "work_pool_name",
    ]


def shared_limit(**fields) -> dict:
    return {
        "id": "l-1",
        "name": "warehouse",
        "limit": 5,
        "active": True,
        "active_slots": 0,
    } | fields


def test_a_shared_limits_own_fields_are_its_change():
    before = deployment(global_concurrency_limit=shared_limit())
    after = deployment(global_concurrency_limit=shared_limit(limit=9, name="warehouse-2"))
    assert not is_change("deployment", before, after)


def test_the_deployments_own_limit_is_part_of_it():
    own = {"id": "l-2", "name": f"deployment:{DEPLOYMENT_ID}", "limit": 1, "active_slots": 0}
    before = deployment(global_concurrency_limit=own)
    after = deployment(global_concurrency_limit={**own, "limit": 3, "active_slots": 2})
    assert changes("deployment", before, after) == [
        {"path": "global_concurrency_limit.limit", "old": 1, "new": 3}
    ]


def test_a_created_object_shows_every_configured_field_as_new():
    found = changes("variable", None, {"id": "v", "created": "x", "name": "n", "value": 1})
    assert found == [
        {"path": "id", "old": None, "new": "v"},
        {"path": "name", "old": None, "new": "n"},
        {"path": "value", "old": None, "new": 1},
    ]


def test_a_deleted_object_shows_every_field_as_gone():
    before = {"id": "f", "created": "x", "updated": "y", "name": "etl", "tags": [], "labels": {}}
    assert [c["new"] for c in changes("flow", before, None)] == [None, None, None, None]


def test_comparing_leaves_the_bodies_as_they_were():
    before, after = deployment(), deployment(paused=True)
    kept = copy.deepcopy((before, after))
    changes("deployment", before, after)
    assert (before, after) == kept


def test_a_created_deployment_names_its_schedules_and_skips_empty_fields():
    found = changes("deployment", None, deployment(global_concurrency_limit=None))
    paths = [change["path"] for change in found]
    assert "global_concurrency_limit" not in paths
    assert [path for path in paths if path.startswith("schedules")] == [
        "schedules[slug=daily]",
        "schedules[slug=weekly]",
    ]
