"""Importing Prefect API JSON and bundles: faithful, idempotent, all-or-nothing.

prefect.yaml imports are in test_import_yaml.py, live servers in test_import_remote.py.
"""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importing.records import ImportFailed
from catalog.importing.run import import_paths
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    WorkPool,
    WorkQueue,
)
from catalog.rendering.deployment_json import deployment_instance_json
from tests.conftest import prefect_file, prefect_json
from tests.factories import DeploymentFactory, DeploymentScheduleFactory, FlowFactory
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

FULL = "20_get_deployment_full.json"
MINIMAL = "21_get_deployment_minimal.json"
LINKED = "22_get_deployment_gcl_linked.json"


def write_json(tmp_path: Path, name: str, document) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def table_counts() -> dict[str, int]:
    models = [Flow, Deployment, DeploymentSchedule, ConcurrencyLimit, WorkPool, WorkQueue]
    return {model.__name__: model.objects.count() for model in models}


def rendered(deployment_id: str) -> dict:
    deployment = Deployment.objects.with_related().get(id=deployment_id)
    return json.loads(json.dumps(deployment_instance_json(deployment)))


def refused(paths, **options) -> list[str]:
    with pytest.raises(ImportFailed) as error:
        import_paths(paths, **options)
    return error.value.problems


# Faithful -------------------------------------------------------------------------------


def test_it_stores_every_field_of_a_deployment_faithfully():
    import_paths([prefect_file(FULL)])
    expected = prefect_json(FULL)
    assert rendered(expected["id"]) == expected


def test_text_that_bulk_writes_must_escape_is_stored_as_given(tmp_path):
    """PostgreSQL gets new rows through COPY: tabs, newlines, backslashes, quotes and
    non-ASCII text must arrive unchanged, in plain columns and in JSON alike."""
    awkward = 'tab\there\nnew line \\N back\\slash "quoted" é ✓ 𝄞'
    record = prefect_json(FULL)
    record["description"] = awkward
    record["version"] = "\\."
    record["parameters"] = {"text": awkward, "nested": {"list": [awkward, None, 1.5]}}
    record["tags"] = [awkward, "plain"]
    record["schedules"][0]["parameters"] = {"why": awkward}
    record["schedules"][0]["slug"] = awkward
    import_paths([write_json(tmp_path, "awkward.json", record)])
    assert rendered(record["id"]) == record


def test_it_counts_what_it_wrote():
    result = import_paths([prefect_file(name) for name in (FULL, MINIMAL, LINKED)])
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, 0)
    assert result.schedules_created == 3
    assert result.report() == [
        "flows: created=1 updated=0 unchanged=0",
        "work pools: created=1 updated=0 unchanged=0",
        "work queues: created=2 updated=0 unchanged=0",
        "concurrency limits: created=2 updated=0 unchanged=0",
        "variables: created=0 updated=0 unchanged=0",
        "deployments: created=3 updated=0 unchanged=0 errors=0",
    ]
    assert result.summary() == "created=3 updated=0 unchanged=0 errors=0"


def test_it_keeps_the_ids_of_schedules_queue_and_limit():
    import_paths([prefect_file(FULL)])
    expected = prefect_json(FULL)
    deployment = Deployment.objects.get(id=expected["id"])
    assert str(deployment.work_queue_id) == expected["work_queue_id"]
    assert str(deployment.global_concurrency_limit_id) == expected["global_concurrency_limit"]["id"]
    assert {str(s.id) for s in deployment.schedules.all()} == {
        s["id"] for s in expected["schedules"]
    }


def test_it_creates_a_missing_pool_with_its_default_queue():
    import_paths([prefect_file(FULL)])
    pool = WorkPool.objects.get(name="anchor-pool")
    assert pool.default_queue.name == "default"
    assert set(pool.queues.values_list("name", flat=True)) == {"default", "anchor-queue"}


def test_a_deployments_own_limit_is_deleted_with_it_but_a_shared_one_is_kept():
    import_paths([prefect_file(FULL), prefect_file(LINKED)])
    Deployment.objects.all().delete()
    assert list(ConcurrencyLimit.objects.values_list("name", flat=True)) == ["anchor-shared-gcl"]


# Idempotent -----------------------------------------------------------------------------


def test_importing_the_same_file_twice_changes_nothing():
    paths = [prefect_file(name) for name in (FULL, MINIMAL, LINKED)]
    import_paths(paths)
    before = database_fingerprint()
    result = import_paths(paths)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert database_fingerprint() == before


def test_a_changed_record_updates_only_that_deployment(tmp_path):
    import_paths([prefect_file(FULL), prefect_file(MINIMAL)])
    changed = {**prefect_json(MINIMAL), "description": "now described"}
    result = import_paths([prefect_file(FULL), write_json(tmp_path, "m.json", changed)])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert [c.describe() for c in result.changes if c.action == "update"] == [
        f"update flow-{prefect_json(MINIMAL)['flow_id'][:8]}/anchor-minimal: description"
    ]


def test_schedules_are_updated_in_place_keeping_their_ids(tmp_path):
    import_paths([prefect_file(FULL)])
    record = prefect_json(FULL)
    cron = next(s for s in record["schedules"] if "cron" in s["schedule"])
    cron["schedule"]["cron"] = "0 10 1-7 * 1"
    del cron["id"], cron["updated"], cron["created"]
    import_paths([write_json(tmp_path, "full.json", record)])
    row = DeploymentSchedule.objects.get(slug="first-monday-cron")
    assert row.cron == "0 10 1-7 * 1"
    assert str(row.id) == next(
        s["id"] for s in prefect_json(FULL)["schedules"] if s["slug"] == "first-monday-cron"
    )


# What absent, empty and null mean -----------------------------------------------------


@pytest.fixture
def stored():
    """A deployment with a paused flag and an inactive schedule someone chose."""
    flow = FlowFactory(name="etl")
    deployment = DeploymentFactory(flow=flow, name="nightly", paused=True)
    DeploymentScheduleFactory(deployment=deployment, slug="hourly", active=False)
    return deployment


def import_record(tmp_path, **fields) -> None:
    record = {"name": "nightly", "flow_name": "etl", **fields}
    import_paths([write_json(tmp_path, "record.json", record)])


def test_schedules_absent_keeps_the_schedules(tmp_path, stored):
    import_record(tmp_path, description="x")
    assert list(stored.schedules.values_list("slug", flat=True)) == ["hourly"]


def test_schedules_null_keeps_the_schedules(tmp_path, stored):
    import_record(tmp_path, schedules=None)
    assert stored.schedules.count() == 1


def test_schedules_empty_removes_every_schedule(tmp_path, stored):
    import_record(tmp_path, schedules=[])
    assert stored.schedules.count() == 0


def test_an_import_never_reactivates_a_schedule_or_unpauses(tmp_path, stored):
    schedule = {
        "schedule": {"interval": 3600, "anchor_date": "2026-01-01T00:00:00Z"},
        "slug": "hourly",
    }
    import_record(tmp_path, schedules=[schedule])
    stored.refresh_from_db()
    assert stored.paused
    assert not stored.schedules.get().active


def test_active_and_paused_given_are_applied(tmp_path, stored):
    schedule = {
        "schedule": {"interval": 60, "anchor_date": "2026-01-01T00:00:00Z"},
        "slug": "hourly",
        "active": True,
    }
    import_record(tmp_path, schedules=[schedule], paused=False)
    stored.refresh_from_db()
    assert not stored.paused
    assert stored.schedules.get().active


def test_a_new_schedule_is_active_and_a_new_deployment_unpaused(tmp_path):
    FlowFactory(name="etl")
    import_record(tmp_path, schedules=[{"schedule": {"cron": "0 9 * * *"}}])
    deployment = Deployment.objects.get(name="nightly")
    assert not deployment.paused
    assert deployment.schedules.get().active


def test_an_unslugged_schedule_matches_an_identical_rule_and_keeps_its_id(tmp_path):
    FlowFactory(name="etl")
    import_record(tmp_path, schedules=[{"schedule": {"cron": "0 9 * * *"}}])
    first = DeploymentSchedule.objects.get().id
    import_record(tmp_path, schedules=[{"schedule": {"cron": "0 9 * * *"}}])
    assert DeploymentSchedule.objects.get().id == first


# Input forms ----------------------------------------------------------------------------


def test_it_names_an_undescribed_flow_after_its_id():
    import_paths([prefect_file(MINIMAL)])
    flow = Flow.objects.get()
    assert flow.name == f"flow-{flow.id.hex[:8]}"


def test_it_names_an_undescribed_flow_as_told():
    import_paths([prefect_file(MINIMAL)], flow_name="anchor-etl")
    assert Flow.objects.get().name == "anchor-etl"


def test_one_flow_name_cannot_name_two_flows(tmp_path):
    second = {
        **prefect_json(MINIMAL),
        "id": "7f0bd1a2-5f8c-4a36-9a6e-1e1b3a8f2c10",
        "flow_id": "5b2ad0f6-3a34-4b8e-9a0a-0d7c9d7c7a11",
    }
    path = write_json(tmp_path, "two-flows.json", [prefect_json(MINIMAL), second])
    assert "--flow-name names one flow" in refused([path], flow_name="only-one")[0]
    assert table_counts()["Flow"] == 0


def test_it_reads_a_list_and_a_paginate_page():
    assert import_paths([prefect_file("33_paginate.response.json")]).created == 2
    result = import_paths([prefect_file("30_filter_tags.response.json")])
    assert (result.created, result.unchanged) == (0, 2)


def test_it_reads_json_lines(tmp_path):
    path = tmp_path / "deployments.jsonl"
    path.write_text("\n".join(json.dumps(prefect_json(name)) for name in (FULL, MINIMAL)) + "\n")
    assert import_paths([path]).created == 2


def test_a_list_of_flow_objects_is_taken_as_flows(tmp_path):
    flows = [
        prefect_json("01_flow_create.response.json"),
        {"id": "3f6c7b8e-0a1d-4c2e-9f3b-5d4e6a7b8c9d", "name": "second-flow"},
    ]
    result = import_paths([write_json(tmp_path, "flows.json", flows)])
    assert result.flows_created == 2
    assert sorted(Flow.objects.values_list("name", flat=True)) == ["anchor-etl", "second-flow"]


def test_it_reads_a_bundle_of_flows_limits_pools_and_deployments(tmp_path):
    bundle = {
        "flows": [prefect_json("01_flow_create.response.json")],
        "concurrency_limits": [prefect_json("03_gcl_v2_create.response.json")],
        "work_pools": [{**prefect_json("02_work_pool_create.response.json"), "queues": []}],
        "deployments": [prefect_json(LINKED)],
    }
    import_paths([write_json(tmp_path, "bundle.json", bundle)])
    assert Flow.objects.get().labels == {"owner": "anchor"}
    assert ConcurrencyLimit.objects.get().avg_slot_occupancy_seconds == 2.0
    assert WorkPool.objects.get().base_job_template["job_configuration"]["command"] == (
        "{{ command }}"
    )


def test_a_record_without_an_id_updates_the_deployment_of_that_name(tmp_path):
    import_paths([prefect_file(MINIMAL)])
    record = {key: value for key, value in prefect_json(MINIMAL).items() if key != "id"}
    result = import_paths([write_json(tmp_path, "no-id.json", {**record, "description": "x"})])
    assert result.updated == 1
    assert Deployment.objects.get().description == "x"


def test_a_deprecated_concurrency_limit_makes_the_deployments_own_limit(tmp_path):
    minimal = prefect_json(MINIMAL)
    import_paths([write_json(tmp_path, "limited.json", {**minimal, "concurrency_limit": 4})])
    limit = Deployment.objects.get().global_concurrency_limit
    assert (limit.name, limit.limit) == (f"deployment:{minimal['id']}", 4)


def test_a_limit_named_for_a_deployment_in_the_import_becomes_its_own():
    import_paths([prefect_file(FULL)])
    deployment = Deployment.objects.get()
    assert deployment.global_concurrency_limit.owner_id == deployment.id


def test_a_limit_named_for_a_deployment_nowhere_stays_a_shared_limit(tmp_path):
    """A record whose limit is named for another deployment's id (copied from another
    record, say), that deployment in neither the catalog nor the import: the import
    goes through (it failed at the commit, on the limit's owner) and the limit has no
    owner."""
    record = {**prefect_json(FULL), "id": "5f1e0c9a-3d1b-4f7e-9a43-2b6c8d0e1f20"}
    limit_name = record["global_concurrency_limit"]["name"]
    assert limit_name == "deployment:" + prefect_json(FULL)["id"]
    result = import_paths([write_json(tmp_path, "renamed.json", record)])
    assert result.created == 1
    limit = Deployment.objects.get().global_concurrency_limit
    assert (limit.name, limit.owner_id) == (limit_name, None)


# All or nothing -------------------------------------------------------------------------


MALFORMED = [
    (
        "bad JSON at a known line",
        '[\n  {"name": "x",\n   "flow_id": }\n]',
        None,
        "{path}:3: JSON syntax error at column 15: Expecting value",
    ),
    (
        "missing name",
        {"flow_id": "0e20e68b-1ecc-4b00-a7bd-79f74f24288e"},
        None,
        "{path}: [0].name: Field required",
    ),
    (
        "bad cron",
        {"schedules": [{"schedule": {"cron": "not a cron"}}]},
        None,
        '{path}: [0].schedules[0].schedule.cron: Invalid cron string: "not a cron"',
    ),
    (
        "bad timezone",
        {"schedules": [{"schedule": {"cron": "* * * * *", "timezone": "Mars/Base"}}]},
        None,
        '{path}: [0].schedules[0].schedule.timezone: Invalid timezone: "Mars/Base"',
    ),
    (
        "negative interval",
        {"schedules": [{"schedule": {"interval": -60}}]},
        None,
        "{path}: [0].schedules[0].schedule.interval: interval must be positive",
    ),
    (
        "rrule over 6,500 characters",
        {"schedules": [{"schedule": {"rrule": "FREQ=DAILY;" + "BYHOUR=1;" * 800}}]},
        None,
        "{path}: [0].schedules[0].schedule.rrule: Invalid RRule string",
    ),
    (
        "duplicate slug",
        {
            "schedules": [
                {"schedule": {"cron": "0 0 * * *"}, "slug": "a"},
                {"schedule": {"cron": "0 1 * * *"}, "slug": "a"},
            ]
        },
        None,
        "{path}: [0].schedules[1].slug: slugs must be unique: schedules[0] and schedules[1] "
        "are both 'a' (and {path}: [0].schedules[0].slug)",
    ),
    ("tags not a list", {"tags": "etl"}, None, "{path}: [0].tags: expected a list"),
    (
        "more tags than a row holds",
        {"tags": [f"t{n}" for n in range(101)]},
        None,
        "{path}: [0].tags: Enter at most 100 tags (101 given).",
    ),
    (
        "a tag too long",
        {"tags": ["ok", "x" * 256]},
        None,
        "{path}: [0].tags: Tag xxxxxxxxxxxxxxxxxxxx… is longer than 255 characters.",
    ),
    (
        "a nested label value",
        {"labels": {"team": {"name": "data"}}},
        None,
        "{path}: [0].labels.team: a label must be a string, number or boolean",
    ),
    (
        "a NUL character",
        {"parameters": {"query": "select\u0000"}},
        None,
        "{path}: [0].parameters.query: NUL characters are not allowed",
    ),
    (
        "a lone surrogate",
        '[{"name": "x", "flow_name": "f", "tags": ["ok", "\\udc00"]}]',
        None,
        "{path}: [0].tags[1]: lone surrogate characters are not allowed",
    ),
    (
        "an unknown schedule key",
        {"schedules": [{"schedule": {"cron": "* * * * *"}, "when": 1}]},
        None,
        "{path}: [0].schedules[0].when: unknown key",
    ),
]


@pytest.mark.parametrize(
    ("case", "change", "_", "message"), MALFORMED, ids=[m[0] for m in MALFORMED]
)
def test_a_malformed_record_is_refused_naming_its_place(tmp_path, case, change, _, message):
    import_paths([prefect_file(FULL)])
    before = database_fingerprint()
    path = tmp_path / "bad.json"
    if isinstance(change, str):
        path.write_text(change)
    else:
        record = {key: value for key, value in prefect_json(MINIMAL).items() if key != "name"}
        record = {**record, "name": "bad", **change}
        if case == "missing name":
            record.pop("name")
        path.write_text(json.dumps([record]))
    problems = refused([path])
    assert problems[0].startswith(message.format(path=path)), problems
    assert database_fingerprint() == before


def test_one_bad_record_among_sixty_good_writes_nothing(tmp_path):
    flow_id = "0e20e68b-1ecc-4b00-a7bd-79f74f24288e"
    records = [{"name": f"good-{n}", "flow_id": flow_id, "tags": ["bulk"]} for n in range(60)]
    records.insert(37, {"name": "bad", "flow_id": flow_id, "tags": "bulk"})
    problems = refused([write_json(tmp_path, "sixty.json", records)])
    assert problems == [f"{tmp_path / 'sixty.json'}: [37].tags: expected a list, got 'bulk'"]
    assert set(table_counts().values()) == {0}


def test_it_reports_every_bad_file_and_writes_nothing(tmp_path):
    missing = tmp_path / "missing.json"
    bad = write_json(tmp_path, "bad.json", [{"name": "x"}])
    problems = refused([prefect_file(FULL), missing, bad])
    assert "missing.json: cannot read" in problems[0]
    assert problems[1] == f"{bad}: [0].flow_id: Field required (or flow_name)"
    assert Deployment.objects.count() == 0


def test_a_name_taken_by_another_deployment_of_the_flow_is_refused():
    minimal = prefect_json(MINIMAL)
    existing = DeploymentFactory(flow=FlowFactory(id=minimal["flow_id"]), name=minimal["name"])
    assert f"already exists with id {existing.id}" in refused([prefect_file(MINIMAL)])[0]


def test_a_schedule_of_another_deployment_is_refused(tmp_path):
    import_paths([prefect_file(FULL)])
    stolen = prefect_json(FULL)["schedules"][0]
    path = write_json(tmp_path, "stolen.json", {**prefect_json(MINIMAL), "schedules": [stolen]})
    assert "belongs to another deployment" in refused([path])[0]


def test_the_same_deployment_twice_in_one_import_is_refused(tmp_path):
    path = write_json(tmp_path, "twice.json", [prefect_json(MINIMAL), prefect_json(MINIMAL)])
    assert f"{path}: [1].id: repeats" in refused([path])[0]


# Dry runs, progress and the command -----------------------------------------------------


def test_a_dry_run_goes_through_the_write_path_and_rolls_back():
    result = import_paths([prefect_file(FULL)], dry_run=True)
    assert result.created == 1
    assert set(table_counts().values()) == {0}
    assert result.summary() == "dry run, nothing written: created=1 updated=0 unchanged=0 errors=0"


def test_the_command_prints_the_summary(capsys):
    call_command("import_deployments", str(prefect_file(FULL)), "--flow-name", "anchor-etl")
    assert "created=1 updated=0 unchanged=0 errors=0" in capsys.readouterr().out
    assert Flow.objects.get().name == "anchor-etl"


def test_the_command_prints_what_a_dry_run_would_change(capsys):
    import_paths([prefect_file(MINIMAL)], flow_name="anchor-etl")
    call_command("import_deployments", str(prefect_file(FULL)), "--dry-run")
    out = capsys.readouterr().out
    assert "would create anchor-etl/anchor-full" in out
    assert Deployment.objects.count() == 1


def test_the_command_shows_progress_lines_when_not_on_a_terminal(capsys):
    call_command("import_deployments", str(prefect_file(FULL)))
    assert "checked 1/1 deployments" in capsys.readouterr().err


def test_the_command_fails_with_the_problems_and_writes_nothing(tmp_path, capsys):
    bad = write_json(tmp_path, "bad.json", [prefect_json(MINIMAL), {"name": "n", "flow_id": "x"}])
    with pytest.raises(CommandError) as error:
        call_command("import_deployments", str(bad))
    assert str(error.value).startswith("Import refused; nothing was written.")
    assert f"{bad}: [1].flow_id: Input should be a valid UUID" in str(error.value)
    assert "created=0 updated=0 unchanged=0 errors=1" in capsys.readouterr().out
    assert Deployment.objects.count() == 0


def test_a_deployment_naming_a_new_pool_in_prefects_reserved_names_is_refused(tmp_path):
    record = {"name": "d", "flow_name": "f", "work_pool_name": "prefect-managed"}
    path = write_json(tmp_path, "reserved.json", [record])
    before = database_fingerprint()
    assert refused([path]) == [
        f"{path}: [0].work_pool_name: Work pools starting with 'Prefect' are reserved "
        "for internal use."
    ]
    assert database_fingerprint() == before
