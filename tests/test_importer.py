"""Importing Prefect API JSON: faithful, idempotent, all-or-nothing."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importer import ImportFailed, import_paths
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    WorkPool,
    WorkQueue,
)
from catalog.serializers import DeploymentSerializer
from tests.conftest import prefect_file, prefect_json
from tests.factories import DeploymentFactory, FlowFactory

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
    return json.loads(json.dumps(DeploymentSerializer(deployment).data))


def test_it_stores_every_field_of_a_deployment_faithfully():
    import_paths([prefect_file(FULL)])
    expected = prefect_json(FULL)
    assert rendered(expected["id"]) == expected


def test_it_counts_what_it_wrote():
    result = import_paths([prefect_file(name) for name in (FULL, MINIMAL, LINKED)])
    assert (result.deployments_created, result.deployments_updated) == (3, 0)
    assert (result.schedules_written, result.flows_created) == (3, 1)
    assert (result.work_pools_created, result.concurrency_limits_written) == (1, 2)


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


def test_importing_the_same_file_twice_changes_nothing():
    paths = [prefect_file(name) for name in (FULL, MINIMAL, LINKED)]
    import_paths(paths)
    before = table_counts(), rendered(prefect_json(FULL)["id"])
    result = import_paths(paths)
    assert (result.deployments_created, result.deployments_updated) == (0, 3)
    assert (table_counts(), rendered(prefect_json(FULL)["id"])) == before


def test_it_names_an_undescribed_flow_after_its_id():
    import_paths([prefect_file(MINIMAL)])
    flow = Flow.objects.get()
    assert str(flow.id) == prefect_json(MINIMAL)["flow_id"]
    assert flow.name == f"flow-{flow.id.hex[:8]}"


def test_it_names_an_undescribed_flow_as_told():
    import_paths([prefect_file(MINIMAL)], flow_name="anchor-etl")
    assert Flow.objects.get().name == "anchor-etl"


def test_it_uses_a_flow_the_catalog_already_has():
    flow_id = prefect_json(MINIMAL)["flow_id"]
    FlowFactory(id=flow_id, name="existing")
    result = import_paths([prefect_file(MINIMAL)], flow_name="ignored")
    assert result.flows_created == 0
    assert Flow.objects.get().name == "existing"


def test_one_flow_name_cannot_name_two_flows(tmp_path):
    second = {
        **prefect_json(MINIMAL),
        "id": "7f0bd1a2-5f8c-4a36-9a6e-1e1b3a8f2c10",
        "flow_id": "5b2ad0f6-3a34-4b8e-9a0a-0d7c9d7c7a11",
    }
    path = write_json(tmp_path, "two-flows.json", [prefect_json(MINIMAL), second])
    with pytest.raises(ImportFailed, match="--flow-name names one flow"):
        import_paths([path], flow_name="only-one")
    assert table_counts()["Flow"] == 0


def test_it_reads_a_list_and_a_paginate_page():
    result = import_paths([prefect_file("33_paginate.response.json")])
    assert result.deployments_created == 2
    result = import_paths([prefect_file("30_filter_tags.response.json")])
    assert (result.deployments_created, result.deployments_updated) == (0, 2)


def test_it_reads_a_bundle_of_flows_and_deployments(tmp_path):
    flow = prefect_json("01_flow_create.response.json")
    path = write_json(
        tmp_path, "bundle.json", {"flows": [flow], "deployments": [prefect_json(MINIMAL)]}
    )
    import_paths([path])
    stored = Flow.objects.get()
    assert (stored.name, stored.labels, stored.tags) == (
        "anchor-etl",
        {"owner": "anchor"},
        ["anchor"],
    )


def test_one_bad_record_among_good_ones_writes_nothing(tmp_path):
    bad = {**prefect_json(LINKED), "schedules": [{"schedule": {"cron": "not a cron"}}]}
    path = write_json(tmp_path, "mixed.json", [prefect_json(FULL), prefect_json(MINIMAL), bad])
    with pytest.raises(ImportFailed) as error:
        import_paths([path])
    assert error.value.problems == [
        f'{path}: record 3: schedules[0].schedule.cron: Invalid cron string: "not a cron"'
    ]
    assert set(table_counts().values()) == {0}


def test_a_bad_record_leaves_earlier_imports_untouched(tmp_path):
    import_paths([prefect_file(FULL)])
    before = table_counts(), rendered(prefect_json(FULL)["id"])
    changed = {**prefect_json(FULL), "description": "changed"}
    bad = {**prefect_json(MINIMAL), "tags": ["ok", 5]}
    path = write_json(tmp_path, "update.json", [changed, bad])
    with pytest.raises(ImportFailed, match=r"record 2: tags\[1\]: expected a string"):
        import_paths([path])
    assert (table_counts(), rendered(prefect_json(FULL)["id"])) == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"flow_id": "nope"}, "flow_id: Input should be a valid UUID"),
        ({"name": None}, "name: expected a string"),
        ({"name": "a/b"}, "name: Name may not contain /"),
        ({"status": "RUNNING"}, "status: Input should be 'READY' or 'NOT_READY'"),
        ({"created": "yesterday"}, "created: Input should be a valid datetime"),
        ({"labels": {"k": [1]}}, "labels: Label k must be a string, number or boolean."),
        ({"pull_steps": ["x"]}, "pull_steps[0]: expected an object"),
        (
            {"concurrency_options": {"collision_strategy": "enqueue"}},
            "concurrency_options.collision_strategy: Input should be 'ENQUEUE' or 'CANCEL_NEW'",
        ),
        (
            {"concurrency_options": {"collision_strategy": "ENQUEUE", "grace_period_seconds": 5}},
            "grace_period_seconds: must be between 60 and 86400",
        ),
        (
            {"schedules": [{"schedule": {"interval": 0}}]},
            "schedules[0].schedule.interval: interval must be positive",
        ),
        (
            {"schedules": [{"schedule": {"interval": 5, "timezone": "Mars/Base"}}]},
            'schedules[0].schedule.timezone: Invalid timezone: "Mars/Base"',
        ),
        (
            {"schedules": [{"schedule": {"rrule": "garbage"}}]},
            'schedules[0].schedule.rrule: Invalid RRule string "garbage"',
        ),
        (
            {
                "schedules": [
                    {"schedule": {"cron": "0 0 * * *"}, "slug": "a"},
                    {"schedule": {"cron": "0 1 * * *"}, "slug": "a"},
                ]
            },
            "schedules: slugs must be unique, repeated: a",
        ),
        (
            {"schedules": [{"schedule": {"cron": "0 0 * * *"}, "max_scheduled_runs": 0}]},
            "schedules[0].max_scheduled_runs: Input should be greater than 0",
        ),
    ],
)
def test_it_names_the_field_of_a_bad_value(tmp_path, change, message):
    path = write_json(tmp_path, "bad.json", {**prefect_json(MINIMAL), **change})
    with pytest.raises(ImportFailed) as error:
        import_paths([path])
    assert error.value.problems[0].startswith(f"{path}: record 1: ")
    assert message in error.value.problems[0]


def test_it_gives_the_line_of_a_json_syntax_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"name": "x",\n   "flow_id": }\n]')
    with pytest.raises(ImportFailed, match=r"broken.json: line 3 column 15: Expecting value"):
        import_paths([path])


def test_it_reports_every_bad_file_and_writes_nothing(tmp_path):
    good = prefect_file(FULL)
    missing = tmp_path / "missing.json"
    bad = write_json(tmp_path, "bad.json", [{"name": "x"}])
    with pytest.raises(ImportFailed) as error:
        import_paths([good, missing, bad])
    assert len(error.value.problems) == 2
    assert "missing.json: cannot read" in error.value.problems[0]
    assert error.value.problems[1] == f"{bad}: record 1: flow_id: Field required"
    assert Deployment.objects.count() == 0


def test_a_name_taken_by_another_deployment_of_the_flow_is_refused():
    minimal = prefect_json(MINIMAL)
    existing = DeploymentFactory(flow=FlowFactory(id=minimal["flow_id"]), name=minimal["name"])
    with pytest.raises(ImportFailed, match=f"already exists with id {existing.id}"):
        import_paths([prefect_file(MINIMAL)])


def test_a_schedule_of_another_deployment_is_refused(tmp_path):
    import_paths([prefect_file(FULL)])
    stolen = prefect_json(FULL)["schedules"][0]
    other = {**prefect_json(MINIMAL), "schedules": [stolen]}
    path = write_json(tmp_path, "stolen.json", other)
    with pytest.raises(ImportFailed, match=r"deployment_id: is .*, not the deployment.s id"):
        import_paths([path])


def test_a_record_without_an_id_updates_the_deployment_of_that_name(tmp_path):
    import_paths([prefect_file(MINIMAL)])
    record = {key: value for key, value in prefect_json(MINIMAL).items() if key != "id"}
    path = write_json(tmp_path, "no-id.json", {**record, "description": "again"})
    result = import_paths([path])
    assert result.deployments_updated == 1
    assert Deployment.objects.get().description == "again"


def test_a_deployments_own_limit_is_deleted_with_it_but_a_shared_one_is_kept():
    import_paths([prefect_file(FULL), prefect_file(LINKED)])
    Deployment.objects.all().delete()
    assert list(ConcurrencyLimit.objects.values_list("name", flat=True)) == ["anchor-shared-gcl"]


def test_a_deprecated_concurrency_limit_makes_the_deployments_own_limit(tmp_path):
    minimal = prefect_json(MINIMAL)
    path = write_json(tmp_path, "limited.json", {**minimal, "concurrency_limit": 4})
    import_paths([path])
    limit = Deployment.objects.get().global_concurrency_limit
    assert (limit.name, limit.limit) == (f"deployment:{minimal['id']}", 4)


def test_a_dry_run_checks_and_counts_but_writes_nothing():
    result = import_paths([prefect_file(FULL)], dry_run=True)
    assert result.deployments_created == 1
    assert set(table_counts().values()) == {0}
    assert result.summary().startswith("Would import 1 new")


def test_the_command_prints_what_it_imported(capsys):
    call_command("import_deployments", str(prefect_file(FULL)), "--flow-name", "anchor-etl")
    assert "Imported 1 new and 0 updated deployments, 3 schedules" in capsys.readouterr().out
    assert Flow.objects.get().name == "anchor-etl"


def test_the_command_fails_with_the_problems_and_writes_nothing(tmp_path):
    bad = write_json(tmp_path, "bad.json", [prefect_json(MINIMAL), {"name": "n", "flow_id": "x"}])
    with pytest.raises(CommandError) as error:
        call_command("import_deployments", str(bad))
    assert str(error.value).startswith("Import refused; nothing was written.")
    assert f"{bad}: record 2: flow_id: Input should be a valid UUID" in str(error.value)
    assert Deployment.objects.count() == 0
