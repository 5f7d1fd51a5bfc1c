"""`import_deployments --from-api`: mirroring a live server read over HTTP, page by page.

Against this project's own server (live, on loopback), and against a real Prefect 3.9.1
server started from the interop virtualenv (`scripts/interop-venv`).
"""

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.importing.records import ImportFailed
from catalog.importing.run import import_bundle, import_paths
from catalog.importing.sources.remote import fetch_bundle
from catalog.models import ApiKeyAccess, ConcurrencyLimit, Deployment, Flow, WorkPool, WorkQueue
from tests.conftest import prefect_file, prefect_json
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
PREFECT = ROOT / ".venv-interop" / "bin" / "prefect"
REFERENCE = [
    "20_get_deployment_full.json",
    "21_get_deployment_minimal.json",
    "22_get_deployment_gcl_linked.json",
]


def empty_the_catalog() -> None:
    for model in (Deployment, Flow, ConcurrencyLimit, WorkPool):
        model.objects.all().delete()


def get_json(url: str):
    with urllib.request.urlopen(url) as response:
        return json.loads(response.read())


def test_it_mirrors_this_catalog_read_through_its_api(live_server, api_client):
    import_paths([prefect_file(name) for name in REFERENCE], flow_name="anchor-etl")
    originals = {name: prefect_json(name) for name in REFERENCE}
    bundle = fetch_bundle(f"{live_server.url}/api", page_size=2)
    assert len(bundle.deployments) == 3 and len(bundle.flows) == 1
    empty_the_catalog()
    result = import_bundle(bundle)
    assert result.created == 3
    for name, original in originals.items():
        assert api_client.get(f"/api/deployments/{original['id']}").json() == original, name


def test_a_second_mirror_changes_nothing(live_server):
    import_paths([prefect_file(name) for name in REFERENCE], flow_name="anchor-etl")
    result = import_bundle(fetch_bundle(f"{live_server.url}/api"))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)


def test_the_command_reads_a_server(live_server, capsys):
    import_paths([prefect_file(REFERENCE[1])], flow_name="anchor-etl")
    call_command("import_deployments", "--from-api", f"{live_server.url}/api", "--quiet")
    assert "created=0 updated=0 unchanged=1 errors=0" in capsys.readouterr().out


def test_the_command_reads_a_catalog_that_requires_keys(live_server, capsys, settings):
    settings.CATALOG_ANONYMOUS_READ = False
    import_paths([prefect_file(REFERENCE[1])], flow_name="anchor-etl")
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    url = f"{live_server.url}/api"
    call_command("import_deployments", "--from-api", url, "--api-key", key.secret, "--quiet")
    assert "created=0 updated=0 unchanged=1 errors=0" in capsys.readouterr().out
    with pytest.raises(ImportFailed, match="401"):
        fetch_bundle(url)


def test_an_unreachable_server_is_a_clean_error():
    with pytest.raises(ImportFailed, match="cannot read"):
        fetch_bundle("http://127.0.0.1:9/api")


# The real Prefect server ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    """A real Prefect 3.9.1 server with a fresh database, on a free loopback port."""
    if not PREFECT.exists():
        pytest.fail(f"{PREFECT} is missing: run scripts/interop-venv")
    port = free_port()
    home = tmp_path_factory.mktemp("prefect-home")
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    log = open(home / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(PREFECT), "server", "start"],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_healthy(url, server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def wait_until_healthy(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail("the Prefect server exited while starting")
        try:
            if get_json(f"{url}/health") is True:
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail("the Prefect server did not become healthy")


def post(url: str, body: dict, retries: int = 5) -> dict:
    """A POST to the real server, retried on 429, 502 and 503 after 1, 2, 4… s as Prefect's
    own client does: the server answers 503 while its own services hold its SQLite
    database locked."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    for retry in range(retries + 1):
        try:
            with urllib.request.urlopen(request) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code not in {429, 502, 503} or retry == retries:
                raise
            time.sleep(2**retry)
    raise AssertionError("unreachable")


def fill_real_server(url: str) -> list[str]:
    """The reference capture's flow, pool, limit and deployments, made on the real server."""
    flow = post(
        f"{url}/flows/", json.loads(prefect_file("01_flow_create.request.json").read_text())
    )
    post(
        f"{url}/work_pools/",
        json.loads(prefect_file("02_work_pool_create.request.json").read_text()),
    )
    limit = post(
        f"{url}/v2/concurrency_limits/",
        json.loads(prefect_file("03_gcl_v2_create.request.json").read_text()),
    )
    ids = []
    for name in (
        "10_deployment_full_create",
        "11_deployment_minimal_create",
        "13_deployment_gcl_linked_create",
    ):
        body = json.loads(prefect_file(f"{name}.request.json").read_text())
        body.pop("storage_document_id", None)
        body.pop("infrastructure_document_id", None)
        body["flow_id"] = flow["id"]
        if "global_concurrency_limit_id" in body:
            body["global_concurrency_limit_id"] = limit["id"]
        ids.append(post(f"{url}/deployments/", body)["id"])
    return ids


def test_it_mirrors_a_real_prefect_server(prefect_server, api_client):
    ids = fill_real_server(prefect_server)
    result = import_bundle(fetch_bundle(prefect_server, page_size=2))
    assert result.created == 3
    for deployment_id in ids:
        theirs = get_json(f"{prefect_server}/deployments/{deployment_id}")
        ours = api_client.get(f"/api/deployments/{deployment_id}").json()
        assert ours == theirs
    assert WorkQueue.objects.filter(work_pool__name="anchor-pool").count() == 2
    again = import_bundle(fetch_bundle(prefect_server))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
