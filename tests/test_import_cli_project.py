"""The catalog's importer on the project the real CLI deployed (tests/data/cli-project/)
stores what `prefect deploy --all` stored on a real Prefect 3.9.1 server
(tests/data/prefect-cli/captured.json), without running any of the project's code."""

import json

import pytest
from rest_framework.test import APIClient

from catalog.importing.run import import_paths
from tests.interop.cli_scenario import TEMPLATE_ENV
from tests.replay import shape
from tests.test_cli_interop import CAPTURED, PROJECT

pytestmark = pytest.mark.django_db

# The order of the keys the first snapshot shares with an export bundle.
SHARED_KINDS = ("work_pools", "variables", "concurrency_limits")


@pytest.fixture(scope="module")
def deployed() -> dict:
    """What the real server stored after the CLI's first `prefect deploy --all`."""
    return json.loads(CAPTURED.read_text())["stored"]["first-deploy"]


@pytest.fixture
def catalog_as_before_the_deploy(deployed, tmp_path, monkeypatch):
    """The pools, variables and limit the CLI made before it deployed, from the capture,
    and the environment it deployed with."""
    bundle = {kind: deployed[kind] for kind in SHARED_KINDS}
    bundle["concurrency_limits"] = [
        limit for limit in deployed["concurrency_limits"] if limit["name"] == "etl-slots"
    ]
    path = tmp_path / "before.json"
    path.write_text(json.dumps(bundle))
    import_paths([path])
    for name, value in TEMPLATE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("UNSET_IN_TESTS", raising=False)


def stored(kind: str) -> list:
    response = APIClient().post(f"/api/{kind}/filter", {"sort": "NAME_ASC"}, format="json")
    assert response.status_code == 200
    return response.json()


def fields_that_differ(ours: list[dict], theirs: list[dict]) -> list[str]:
    """Each field that differs, as `deployment.field: ours != theirs`."""
    return [
        f"{mine['name']}.{key}: {mine.get(key)!r} != {value!r}"
        for mine, reference in zip(ours, theirs, strict=True)
        for key, value in reference.items()
        if shape(mine.get(key), key) != shape(value, key)
    ]


def test_the_import_stores_the_deployments_prefect_deploy_stored(
    catalog_as_before_the_deploy, deployed
):
    result = import_paths([PROJECT / "prefect.yaml"])
    assert result.created == 8
    ours, theirs = stored("deployments"), deployed["deployments"]
    assert [d["name"] for d in ours] == [d["name"] for d in theirs]
    assert fields_that_differ(ours, theirs) == []
    assert [shape(d) for d in ours] == [shape(d) for d in theirs]  # key order too


def test_the_import_stores_the_flows_prefect_deploy_stored(catalog_as_before_the_deploy, deployed):
    import_paths([PROJECT / "prefect.yaml"])
    assert shape(stored("flows")) == shape(deployed["flows"])
