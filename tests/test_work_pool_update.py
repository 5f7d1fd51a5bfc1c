"""`PATCH /api/work_pools/{name}`, which `prefect work-pool create --overwrite`, `update`,
`pause`, `resume`, `set-concurrency-limit` and `clear-concurrency-limit` send, replayed
against a real Prefect server's answers (`tests/data/prefect-work-pool-update/`, see its
README), with the answers that deliberately differ, the change history it records, and
the real CLI's commands against the live server.
"""

import json
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ObjectType, Version, WorkPool
from catalog.rules.job_templates import check_base_job_template
from catalog.rules.problems import RuleError
from catalog.services.errors import INTEGRITY_CONFLICT
from tests.factories import ApiKeyFactory, WorkPoolFactory
from tests.replay import (
    body_shape,
    database_fingerprint,
    replay_steps,
    scenario_capture,
    writer_client,
)
from tests.test_interop import INTEROP_PYTHON, client_env

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "prefect-work-pool-update"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)
PREFECT = INTEROP_PYTHON.with_name("prefect")
PROCESS_TEMPLATE = next(s for s in STEPS if s["case"] == "template_204")["body"][
    "base_job_template"
]


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


def patch(client, name: str, body, **headers):
    return client.patch(
        f"/api/work_pools/{name}", json.dumps(body), content_type="application/json", **headers
    )


# Where Prefect's server fails (a 500), the catalog refuses ------------------------------


def test_a_null_template_is_refused_as_a_null_pause_is():
    pool = WorkPoolFactory(name="kept", base_job_template=PROCESS_TEMPLATE)
    before = database_fingerprint()
    response = patch(writer_client(), pool.name, {"base_job_template": None})
    assert (response.status_code, response.json()) == (409, {"detail": INTEGRITY_CONFLICT})
    assert database_fingerprint() == before


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            {"job_configuration": [1], "variables": {"properties": {}}},
            "The `job_configuration` of the `base_job_template` must be an object.",
        ),
        (
            {"job_configuration": {"a": 1}, "variables": [1]},
            "The `variables` of the `base_job_template` must be an object.",
        ),
        (
            {"job_configuration": {"a": 1}, "variables": {"properties": None}},
            "The `variables.properties` of the `base_job_template` must be an object.",
        ),
    ],
)
def test_a_template_part_that_is_not_an_object_is_a_422_naming_it(template, message):
    pool = WorkPoolFactory(name="kept")
    before = database_fingerprint()
    response = patch(writer_client(), pool.name, {"base_job_template": template})
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {
                "type": "value_error",
                "loc": ["body", "base_job_template"],
                "msg": f"Value error, {message}",
                "input": template,
                "ctx": {"error": {}},
            }
        ],
        "request_body": {"base_job_template": template},
    }
    assert database_fingerprint() == before


def test_undeclared_variables_are_named_in_sorted_order():
    # Prefect joins a set, in whatever order it iterates; the catalog sorts.
    template = {"job_configuration": {"a": "{{ b }} {{ $HOME }} {{ a }}"}, "variables": {"x": 1}}
    with pytest.raises(RuleError) as raised:
        check_base_job_template(template)
    assert raised.value.message.endswith("undeclared variable(s): $HOME ,a ,b.")


def test_a_template_nested_past_what_json_writes_is_refused():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(RuleError, match="nested too deeply"):
        check_base_job_template({"job_configuration": {"a": deep}, "variables": {"x": 1}})


# What a change records, and who may make it ---------------------------------------------


def pool_versions(pool: WorkPool) -> list[tuple]:
    rows = Version.objects.filter(object_type=ObjectType.WORK_POOL, object_id=pool.id)
    return list(rows.order_by("number").values_list("number", "kind", "change_set__door"))


def test_a_change_records_a_version_of_the_pool_with_its_reason(api_client):
    pool = WorkPoolFactory(name="recorded")
    response = patch(api_client, "recorded", {"is_paused": True}, HTTP_X_CHANGE_REASON="freeze")
    assert response.status_code == 204
    assert pool_versions(pool)[-1][1:] == ("changed", "api")
    latest = Version.objects.filter(object_id=pool.id).latest("number")
    after = json.loads(latest.after)
    assert (after["is_paused"], after["status"]) == (True, "PAUSED")
    assert latest.change_set.reason == "freeze"


def test_a_refused_change_records_nothing(api_client):
    pool = WorkPoolFactory(name="recorded")
    assert patch(api_client, "recorded", {"is_paused": True}).status_code == 204
    versions = pool_versions(pool)
    assert patch(api_client, "recorded", {"is_paused": None}).status_code == 409
    assert patch(api_client, "recorded", {"concurrency_limit": -1}).status_code == 422
    assert pool_versions(pool) == versions


def queries_of(client, name: str, body: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert patch(client, name, body).status_code == 204
    return len(captured)


def test_a_change_takes_the_same_queries_whatever_it_changes(api_client):
    WorkPoolFactory(name="counted")
    patch(api_client, "counted", {"description": "warm-up"})
    pause = queries_of(api_client, "counted", {"is_paused": True})
    body = {"description": "x", "base_job_template": PROCESS_TEMPLATE, "concurrency_limit": 2}
    assert queries_of(api_client, "counted", body) == pause
    # The pool's lookup and save, and the change set's recording of its version (pending
    # marks read and cleared, the pool rendered, its latest version read, the change set
    # and the version written), in savepoints.
    assert pause <= 13


def user_key(*codenames: str) -> dict:
    user = User.objects.create_user("pool-keeper")
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return {"HTTP_AUTHORIZATION": f"Bearer {ApiKeyFactory(user=user).secret}"}


def test_a_change_needs_the_change_workpool_permission(anonymous_client):
    WorkPoolFactory(name="guarded")
    headers = user_key("view_workpool", "add_workpool")
    response = patch(anonymous_client, "guarded", {"is_paused": True}, **headers)
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Permission denied: this needs catalog.change_workpool."},
    )
    assert WorkPool.objects.get(name="guarded").is_paused is False


def test_the_change_permission_is_enough(anonymous_client):
    WorkPoolFactory(name="guarded")
    headers = user_key("change_workpool")
    response = patch(anonymous_client, "guarded", {"is_paused": True}, **headers)
    assert response.status_code == 204
    assert WorkPool.objects.get(name="guarded").status == "PAUSED"


# The real CLI -------------------------------------------------------------------------------


def prefect(live_server, tmp_path, secret: str, *argv: str) -> subprocess.CompletedProcess:
    env = client_env(
        f"{live_server.url}/api", tmp_path / "prefect-home", "pools", PREFECT_API_KEY=secret
    )
    env.update(COLUMNS="200", NO_COLOR="1", TERM="dumb")
    return subprocess.run(
        [str(PREFECT), "--no-prompt", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def pool_state(name: str) -> tuple:
    pool = WorkPool.objects.get(name=name)
    return (pool.is_paused, pool.status, pool.concurrency_limit, pool.description)


@pytest.mark.interop
@pytest.mark.django_db(transaction=True)
def test_the_clis_work_pool_commands_that_change_a_pool_exit_0(live_server, tmp_path):
    if not PREFECT.exists():
        pytest.fail("run scripts/interop-venv for the real Prefect CLI", pytrace=False)
    secret = ApiKeyFactory(name="prefect-cli").secret
    template = tmp_path / "template.json"
    template.write_text(json.dumps(PROCESS_TEMPLATE))
    commands = [
        (["create", "cli-pool", "--type", "process"], "Created work pool 'cli-pool'!"),
        (["update", "cli-pool", "--description", "nightly"], "Updated work pool 'cli-pool'"),
        (["set-concurrency-limit", "cli-pool", "4"], "Set concurrency limit for work pool"),
        (["pause", "cli-pool"], "Paused work pool 'cli-pool'"),
        (
            ["create", "cli-pool", "--type", "process", "--overwrite"],
            "Updated work pool 'cli-pool'!",
        ),
        (["pause", "cli-pool"], "Paused work pool 'cli-pool'"),
        (["resume", "cli-pool"], "Resumed work pool 'cli-pool'"),
        (["set-concurrency-limit", "cli-pool", "2"], "Set concurrency limit for work pool"),
        (["clear-concurrency-limit", "cli-pool"], "Cleared concurrency limit for work pool"),
        (["update", "cli-pool", "--base-job-template", str(template)], "Updated work pool"),
    ]
    states = []
    for argv, printed in commands:
        result = prefect(live_server, tmp_path, secret, "work-pool", *argv)
        assert result.returncode == 0, f"{argv}:\n{result.stdout}{result.stderr}"
        assert printed in result.stdout, argv
        states.append(pool_state("cli-pool"))
    assert states == [
        (False, "NOT_READY", None, None),
        (False, "NOT_READY", None, "nightly"),
        (False, "NOT_READY", 4, "nightly"),
        (True, "PAUSED", 4, "nightly"),
        # --overwrite sends every field: no description, no limit, not paused.
        (False, "NOT_READY", None, None),
        (True, "PAUSED", None, None),
        (False, "NOT_READY", None, None),
        (False, "NOT_READY", 2, None),
        (False, "NOT_READY", None, None),
        (False, "NOT_READY", None, None),
    ]
    assert WorkPool.objects.get(name="cli-pool").base_job_template == PROCESS_TEMPLATE
