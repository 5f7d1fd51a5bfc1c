"""The work queue routes `prefect work-queue create`, `inspect`, `pause`, `resume`,
`set-concurrency-limit`, `clear-concurrency-limit` and `delete` send, replayed against a
real Prefect server's answers (`tests/data/prefect-work-queues/`, see its README), and the
real CLI's commands against the live server.
"""

import json
import subprocess
from pathlib import Path

import pytest

from catalog.models import ApiKeyAccess, ObjectType, Version, WorkQueue
from catalog.services.work_pools import work_pool_ensure
from tests.factories import ApiKeyFactory, WorkPoolFactory
from tests.replay import body_shape, replay_steps, scenario_capture
from tests.test_interop import INTEROP_PYTHON, client_env

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "prefect-work-queues"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)
PREFECT = INTEROP_PYTHON.with_name("prefect")


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker) -> dict[str, tuple]:
    with django_db_blocker.unblock():
        return replay_steps(STEPS, REFUSALS)


@pytest.mark.parametrize("captured", CAPTURED, ids=[step["case"] for step in CAPTURED])
def test_the_step_answers_as_prefect_did(replay, captured):
    status, headers, text, _ = replay[captured["case"]]
    assert status == captured["status"], text[:2000]
    assert body_shape(text) == body_shape(captured["response"])
    if "allow" in captured["headers"]:
        assert headers["allow"] == captured["headers"]["allow"]


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_request_changes_nothing(replay, case):
    status, _, _, unchanged = replay[case]
    assert status >= 300
    assert unchanged


# What a write records ----------------------------------------------------------------


def queue_versions(queue_id) -> list[tuple]:
    rows = Version.objects.filter(object_type=ObjectType.WORK_QUEUE, object_id=queue_id)
    return list(rows.order_by("number").values_list("kind", "change_set__door"))


def test_each_write_records_a_version_of_the_queue_and_a_refusal_none(api_client):
    work_pool_ensure(WorkPoolFactory(name="wp").name)
    body = json.dumps({"name": "q1", "priority": 1})
    created = api_client.post("/api/work_pools/wp/queues", body, content_type="application/json")
    assert created.status_code == 201
    queue_id = created.json()["id"]
    url = f"/api/work_queues/{queue_id}"
    paused = api_client.patch(url, '{"is_paused": true}', content_type="application/json")
    assert paused.status_code == 204
    refused = api_client.patch(url, '{"priority": 0}', content_type="application/json")
    assert refused.status_code == 422
    assert api_client.delete(url).status_code == 204
    assert queue_versions(queue_id) == [
        ("created", "api"),
        ("changed", "api"),
        ("deleted", "api"),
    ]
    latest = Version.objects.filter(object_id=queue_id, kind="changed").get()
    assert json.loads(latest.after)["status"] == "PAUSED"


def test_a_read_key_may_not_write_a_queue(client):
    work_pool_ensure(WorkPoolFactory(name="wp").name)
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    body = json.dumps({"name": "q1"})
    answer = client.post(
        "/api/work_pools/wp/queues",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.secret}",
    )
    assert answer.status_code == 403
    assert not WorkQueue.objects.filter(name="q1").exists()


def prefect(live_server, tmp_path, secret: str, *argv: str) -> subprocess.CompletedProcess:
    env = client_env(
        f"{live_server.url}/api", tmp_path / "prefect-home", "queues", PREFECT_API_KEY=secret
    )
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def queue_state(pool: str, name: str) -> tuple | None:
    queue = WorkQueue.objects.filter(work_pool__name=pool, name=name).first()
    if queue is None:
        return None
    return (queue.is_paused, queue.status, queue.concurrency_limit, queue.priority)


@pytest.mark.interop
@pytest.mark.django_db(transaction=True)
def test_the_clis_work_queue_commands_exit_0(live_server, tmp_path):
    if not PREFECT.exists():
        pytest.fail("run scripts/interop-venv for the real Prefect CLI", pytrace=False)
    secret = ApiKeyFactory(name="prefect-cli").secret
    work_pool_ensure(WorkPoolFactory(name="wp").name)
    commands = [
        (["create", "q1", "--pool", "wp"], "Created work queue with properties"),
        (["inspect", "q1", "--pool", "wp"], "name='q1'"),
        (["pause", "q1", "--pool", "wp"], "Work queue 'q1' in work pool 'wp' paused"),
        (["resume", "q1", "--pool", "wp"], "Work queue 'q1' in work pool 'wp' resumed"),
        (["set-concurrency-limit", "q1", "3", "--pool", "wp"], "Concurrency limit of 3 set"),
        (["clear-concurrency-limit", "q1", "--pool", "wp"], "Concurrency limits removed"),
        (["delete", "q1", "--pool", "wp"], "Successfully deleted work queue 'q1'"),
    ]
    states = []
    for argv, printed in commands:
        result = prefect(live_server, tmp_path, secret, "work-queue", *argv)
        assert result.returncode == 0, f"{argv}:\n{result.stdout}{result.stderr}"
        assert printed in result.stdout, (argv, result.stdout)
        states.append(queue_state("wp", "q1"))
    assert states == [
        (False, "NOT_READY", None, 2),
        (False, "NOT_READY", None, 2),
        (True, "PAUSED", None, 2),
        (False, "NOT_READY", None, 2),
        (False, "NOT_READY", 3, 2),
        (False, "NOT_READY", None, 2),
        None,
    ]


@pytest.mark.interop
@pytest.mark.django_db(transaction=True)
def test_the_cli_says_so_for_a_missing_pool_or_a_taken_name(live_server, tmp_path):
    if not PREFECT.exists():
        pytest.fail("run scripts/interop-venv for the real Prefect CLI", pytrace=False)
    secret = ApiKeyFactory(name="prefect-cli").secret
    missing = prefect(live_server, tmp_path, secret, "work-queue", "create", "q1", "--pool", "nope")
    assert missing.returncode == 1
    assert "Work pool with name: 'nope' not found." in missing.stdout
    WorkPoolFactory(name="wp", type="process")
    assert (
        prefect(live_server, tmp_path, secret, "work-queue", "create", "q1", "-p", "wp").returncode
        == 0
    )
    taken = prefect(live_server, tmp_path, secret, "work-queue", "create", "q1", "-p", "wp")
    assert taken.returncode == 1
    assert "Work queue with name: 'q1' already exists." in taken.stdout
    assert WorkQueue.objects.filter(name="q1").count() == 1
