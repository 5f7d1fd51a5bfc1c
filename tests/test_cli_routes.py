"""The routes the Prefect 3.9.1 CLI calls beyond the catalog's own resources, replayed
against a real Prefect server's answers, and the answers that deliberately differ.

`tests/data/prefect-cli-routes/` holds the requests `prefect deploy`, `deployment inspect`,
`deployment run`, `work-queue ls`, `work-pool create` and `work-pool delete` make, and the
answers a real Prefect server gave them from an empty database (see its README). They are
replayed in order and each answer is compared by status and whole body, key order
included, with ids and timestamps masked.
"""

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.api.views.automations import NO_AUTOMATIONS
from tests.factories import DeploymentFactory, WorkQueueFactory
from tests.replay import body_shape, replay_steps, scenario_capture, writer_client

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "prefect-cli-routes"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)
# Prefect keeps a deployment's `work_queue_name` when its pool is deleted; the catalog
# knows a deployment's queue only by the queue itself, so the name goes with the pool.
DIFFERS = {"deployment_after_its_pool_is_deleted_200": {"work_queue_name": None}}


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker) -> dict[str, tuple]:
    with django_db_blocker.unblock():
        return replay_steps(STEPS, REFUSALS)


def expected_text(captured: dict) -> str:
    if captured["case"] not in DIFFERS:
        return captured["response"]
    return json.dumps({**json.loads(captured["response"]), **DIFFERS[captured["case"]]})


@pytest.mark.parametrize("captured", CAPTURED, ids=[step["case"] for step in CAPTURED])
def test_the_step_answers_as_prefect_did(replay, captured):
    status, headers, text, _ = replay[captured["case"]]
    assert status == captured["status"], text[:2000]
    assert body_shape(text) == body_shape(expected_text(captured))
    if "allow" in captured["headers"]:
        assert headers["allow"] == captured["headers"]["allow"]


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_request_changes_nothing(replay, case):
    status, _, _, unchanged = replay[case]
    assert status >= 300
    assert unchanged


def test_the_worker_metadata_is_prefects_offline_answer_byte_for_byte(replay):
    captured = next(s for s in CAPTURED if s["case"] == "collections_worker_metadata_200")
    assert replay[captured["case"]][2] == captured["response"]


# What the catalog answers where Prefect would run or store something it does not keep ---


def test_creating_a_flow_run_is_refused_with_a_message_the_cli_prints():
    deployment = DeploymentFactory(name="nightly", flow__name="etl")
    response = writer_client().post(
        f"/api/deployments/{deployment.id}/create_flow_run", {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "This catalog stores deployments and runs nothing: it cannot create a flow "
        "run of etl/nightly. Run it from a Prefect server that has this deployment."
    }


def test_creating_an_automation_is_refused_with_why():
    response = writer_client().post(
        "/api/automations/", {"name": "on-failure"}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (403, {"detail": NO_AUTOMATIONS})


@pytest.mark.parametrize("view", ["aggregate-block-metadata", "demo-flows"])
def test_a_registry_view_the_catalog_does_not_fetch_is_a_404_saying_so(client, view):
    response = client.get(f"/api/collections/views/{view}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"Requested content missing for view {view}"}


def test_reading_work_queues_by_name_prefers_the_default_agent_pool(client):
    WorkQueueFactory(name="default", work_pool__name="first-pool")
    WorkQueueFactory(name="default", work_pool__name="default-agent-pool")
    queue = client.get("/api/work_queues/name/default").json()
    assert queue["work_pool_name"] == "default-agent-pool"


def test_the_work_queue_list_takes_the_same_queries_for_more_queues(client):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/work_queues/filter", {}, content_type="application/json")
            assert response.status_code == 200
        return len(captured)

    WorkQueueFactory()
    few = queries()
    WorkQueueFactory.create_batch(3)
    assert queries() == few


def test_deleting_a_pool_leaves_its_deployments_without_a_queue():
    deployment = DeploymentFactory(work_queue=WorkQueueFactory(work_pool__name="doomed"))
    response = writer_client().delete("/api/work_pools/doomed")
    assert response.status_code == 204
    deployment.refresh_from_db()
    assert deployment.work_queue is None
