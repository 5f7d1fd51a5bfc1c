"""Exports: a bundle and a prefect.yaml, each a fixed point of export → import → export."""

import json

import pytest
import yaml
from django.core.management import CommandError, call_command

from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
)
from catalog.importing.run import import_paths
from catalog.management.commands.setup_demo import DEMO_BUNDLE
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
)
from tests.conftest import prefect_file
from tests.factories import FlowFactory, VariableFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    import_paths([DEMO_BUNDLE])
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


def empty_the_catalog(*, keep_pools: bool = False) -> None:
    pools = () if keep_pools else (WorkPool,)
    for model in (Deployment, Flow, ConcurrencyLimit, *pools, Variable):
        model.objects.all().delete()


def export(format: str, tmp_path, *options) -> str:
    path = tmp_path / f"export.{format}"
    call_command("export_deployments", "--format", format, "--output", str(path), *options)
    return path.read_text()


@pytest.mark.parametrize("format", ["json", "yaml"])
def test_export_then_import_into_an_empty_catalog_then_export_is_the_same(
    catalog, tmp_path, format
):
    first = export(format, tmp_path)
    # A prefect.yaml names work pools it does not hold: as for `prefect deploy`, they must exist.
    empty_the_catalog(keep_pools=format == "yaml")
    result = import_paths([tmp_path / f"export.{format}"])
    assert result.created == 15
    assert export(format, tmp_path) == first


def test_the_bundle_holds_the_deployments_as_the_api_renders_them(catalog, api_client):
    bundle = json.loads(bundle_text(export_bundle(deployments_to_export(flow="anchor-etl"))))
    full = next(d for d in bundle["deployments"] if d["name"] == "anchor-full")
    assert full == api_client.get(f"/api/deployments/{full['id']}").json()
    assert [flow["name"] for flow in bundle["flows"]] == ["anchor-etl"]
    assert [pool["name"] for pool in bundle["work_pools"]] == ["anchor-pool"]
    assert {limit["name"] for limit in bundle["concurrency_limits"]} == {
        f"deployment:{full['id']}",
        "anchor-shared-gcl",
    }


def test_exports_filter_by_flow_and_tag(catalog):
    by_tag = yaml.safe_load(export_prefect_yaml(deployments_to_export(tag="finance")))
    assert [entry["name"] for entry in by_tag["deployments"]] == [
        "month-end-close",
        "quarterly-audit",
        "weekday-digest",
    ]
    by_flow = deployments_to_export(flow="ops-housekeeping")
    assert sorted(by_flow.values_list("name", flat=True)) == [
        "certificate-check",
        "disk-cleanup",
        "log-rotation",
    ]


def test_the_prefect_yaml_uses_the_keys_prefect_deploy_reads(catalog):
    document = yaml.safe_load(export_prefect_yaml(deployments_to_export(flow="anchor-etl")))
    full = next(entry for entry in document["deployments"] if entry["name"] == "anchor-full")
    assert full["work_pool"] == {
        "name": "anchor-pool",
        "work_queue_name": "anchor-queue",
        "job_variables": {"env": {"ANCHOR_MODE": "fixture"}, "working_dir": "/srv/flows"},
    }
    assert full["concurrency_limit"] == {
        "limit": 2,
        "collision_strategy": "ENQUEUE",
        "grace_period_seconds": 120,
    }
    cron = next(s for s in full["schedules"] if "cron" in s)
    assert cron == {
        "cron": "30 9 1-7 * 1",
        "timezone": "America/New_York",
        "day_or": False,
        "active": True,
        "slug": "first-monday-cron",
        "parameters": {},
    }


# The keys a schedule of prefect.yaml may hold: Prefect 3.9.1's file model
# (`prefect.cli.deploy._models.RawScheduleConfig`) forbids any other, and `prefect deploy`
# then skips the whole file.
PREFECT_YAML_SCHEDULE_KEYS = {
    "cron",
    "interval",
    "rrule",
    "timezone",
    "anchor_date",
    "active",
    "parameters",
    "slug",
    "replaces",
    "day_or",
}


def test_the_prefect_yaml_schedules_hold_only_keys_prefect_deploy_accepts(catalog):
    DeploymentSchedule.objects.update(max_scheduled_runs=5)
    document = yaml.safe_load(export_prefect_yaml(deployments_to_export()))
    keys = {key for entry in document["deployments"] for s in entry["schedules"] for key in s}
    assert keys <= PREFECT_YAML_SCHEDULE_KEYS
    assert {"cron", "interval", "rrule", "slug", "active"} <= keys


def test_export_writes_to_stdout_without_an_output(catalog, capsys):
    call_command("export_deployments", "--flow", "anchor-etl")
    assert json.loads(capsys.readouterr().out)["flows"][0]["name"] == "anchor-etl"


# Flows without deployments ------------------------------------------------------------


def test_a_bundle_keeps_the_flows_without_deployments_and_an_import_makes_them_again(
    catalog, tmp_path, capsys
):
    lonely = FlowFactory(name="no-deployments-yet", tags=["draft"], labels={"team": "data"})
    first = export("json", tmp_path)
    assert "no-deployments-yet" in [flow["name"] for flow in json.loads(first)["flows"]]
    empty_the_catalog()
    call_command("import_deployments", str(tmp_path / "export.json"), "--quiet")
    again = Flow.objects.get(id=lonely.id)
    assert (again.name, again.tags, again.labels) == (
        "no-deployments-yet",
        ["draft"],
        {"team": "data"},
    )
    assert capsys.readouterr().out.splitlines() == [
        "flows: created=6 updated=0 unchanged=0",
        "work pools: created=5 updated=0 unchanged=0",
        "work queues: created=11 updated=0 unchanged=0",
        "concurrency limits: created=3 updated=0 unchanged=0",
        "variables: created=0 updated=0 unchanged=0",
        "deployments: created=15 updated=0 unchanged=0 errors=0",
    ]
    assert export("json", tmp_path) == first


def test_an_export_of_one_flow_keeps_it_without_deployments(tmp_path):
    FlowFactory(name="alone")
    FlowFactory(name="other")
    bundle = json.loads(export("json", tmp_path, "--flow", "alone"))
    assert [flow["name"] for flow in bundle["flows"]] == ["alone"]
    assert bundle["deployments"] == []


def test_an_export_by_tag_keeps_only_the_flows_of_the_tagged_deployments(catalog, tmp_path):
    FlowFactory(name="no-deployments-yet")
    bundle = json.loads(export("json", tmp_path, "--tag", "finance"))
    flows = {deployment["flow_id"] for deployment in bundle["deployments"]}
    assert {flow["id"] for flow in bundle["flows"]} == flows


# Variables ------------------------------------------------------------------------------


def test_a_bundle_leaves_the_variables_out_and_says_so_in_one_line(tmp_path, capsys):
    VariableFactory.create_batch(2)
    bundle = json.loads(export("json", tmp_path))
    assert "variables" not in bundle
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "note: 2 variables left out of the bundle (they may hold secrets); "
        "export_deployments --include-variables adds them.",
        f"Exported 0 deployments, 0 flows to {tmp_path / 'export.json'}.",
    ]


def test_a_bundle_says_nothing_of_variables_when_there_are_none(tmp_path, capsys):
    export("json", tmp_path)
    assert "variable" not in capsys.readouterr().err


def test_the_bundle_on_stdout_leaves_the_variables_out_and_says_so_on_stderr(capsys):
    VariableFactory()
    call_command("export_deployments")
    captured = capsys.readouterr()
    assert "variables" not in json.loads(captured.out)
    assert captured.err == (
        "note: 1 variable left out of the bundle (they may hold secrets); "
        "export_deployments --include-variables adds them.\n"
    )


def test_include_variables_puts_them_in_the_bundle_and_an_import_makes_them_again(
    catalog, tmp_path, capsys
):
    VariableFactory(name="region", value="eu-central-1", tags=["env"])
    VariableFactory(name="cpu", value=2)
    first = export("json", tmp_path, "--include-variables")
    assert [(v["name"], v["value"]) for v in json.loads(first)["variables"]] == [
        ("cpu", 2),
        ("region", "eu-central-1"),
    ]
    assert "left out" not in capsys.readouterr().err
    empty_the_catalog()
    call_command("import_deployments", str(tmp_path / "export.json"), "--quiet")
    assert "variables: created=2 updated=0 unchanged=0" in capsys.readouterr().out
    assert Variable.objects.get(name="region").tags == ["env"]
    assert export("json", tmp_path, "--include-variables") == first


def test_include_variables_with_a_prefect_yaml_is_refused(tmp_path):
    with pytest.raises(CommandError) as error:
        export("yaml", tmp_path, "--include-variables")
    assert str(error.value) == "--include-variables: a prefect.yaml holds no variables."
    assert not (tmp_path / "export.yaml").exists()
