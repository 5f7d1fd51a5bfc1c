"""Exports: a bundle and a prefect.yaml, each a fixed point of export → import → export."""

import json

import pytest
import yaml
from django.core.management import call_command

from catalog.importing.exporter import (
    bundle_text,
    deployments_to_export,
    export_bundle,
    export_prefect_yaml,
)
from catalog.importing.run import import_paths
from catalog.management.commands.setup_demo import DEMO_BUNDLE
from catalog.models import ConcurrencyLimit, Deployment, Flow, WorkPool
from tests.conftest import prefect_file

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


def empty_the_catalog() -> None:
    for model in (Deployment, Flow, ConcurrencyLimit, WorkPool):
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
    empty_the_catalog()
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


def test_export_writes_to_stdout_without_an_output(catalog, capsys):
    call_command("export_deployments", "--flow", "anchor-etl")
    assert json.loads(capsys.readouterr().out)["flows"][0]["name"] == "anchor-etl"
