"""What the catalog does not keep (flow runs, task runs, blocks, artifacts, automations,
tag concurrency limits), answered as a real Prefect server answers from an empty database.

`tests/data/prefect-empty-store/` holds the requests the Prefect 3.9.1 CLI's `ls` and
`inspect` commands of these kinds make, their `count` and `paginate` siblings, and bodies
Prefect refuses, with the answers a fresh real server gave (see its README). They are
replayed and compared by status and whole body. `cli.json` holds what each command
printed against that server; the same commands are run against the catalog.
"""

import json
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from catalog.api.views.empty_store import NO_TAG_LIMITS
from catalog.models import ApiKeyAccess
from tests.factories import ApiKeyFactory
from tests.replay import body_shape, database_fingerprint, replay_steps, scenario_capture
from tests.test_cli_interop import masked_text
from tests.test_interop import INTEROP_PYTHON, ROOT, client_env

DATA = Path(__file__).parent / "data" / "prefect-empty-store"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)
COMMANDS = json.loads((DATA / "cli.json").read_text())
PREFECT = INTEROP_PYTHON.with_name("prefect")
# Prefect's server registers its built-in block types at startup; the catalog keeps none.
DIFFERS = {"block_types_filter_cli_200": "[]"}
BLOCK_TYPES_TABLE = (
    "Block Types\n"
    "┏━┳━┳━┓\n"
    "┃ Block Type Slug ┃ Description ┃ Generate creation link ┃\n"
    "┡━╇━╇━┩\n"
    "└─┴─┴─┘"
)
DELIBERATE_OUTPUT = {("block", "type", "ls"): BLOCK_TYPES_TABLE}


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker) -> dict[str, tuple]:
    with django_db_blocker.unblock():
        return replay_steps(STEPS, REFUSALS)


@pytest.mark.django_db
@pytest.mark.parametrize("captured", CAPTURED, ids=[step["case"] for step in CAPTURED])
def test_the_step_answers_as_prefects_empty_server_did(replay, captured):
    status, _, text, _ = replay[captured["case"]]
    assert status == captured["status"], text[:2000]
    expected = DIFFERS.get(captured["case"], captured["response"])
    assert body_shape(text) == body_shape(expected)


def test_the_block_types_prefect_lists_are_its_built_in_ones():
    captured = next(step for step in CAPTURED if step["case"] == "block_types_filter_cli_200")
    slugs = {block_type["slug"] for block_type in json.loads(captured["response"])}
    assert {"secret", "aws-credentials"} <= slugs


READ_ROUTES = sorted({step["path"] for step in STEPS if step["method"] == "POST"})


@pytest.mark.django_db
@pytest.mark.parametrize("path", READ_ROUTES)
def test_a_read_only_key_may_send_the_filter_routes(path):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    client = Client(headers={"Authorization": f"Bearer {key.secret}"})
    response = client.post(path, {}, content_type="application/json")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", READ_ROUTES)
def test_the_filter_routes_read_no_table(client, path, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.post(path, {"offset": 3}, content_type="application/json")
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "patch", "delete"], ids=["put", "patch", "delete"])
def test_nothing_of_these_kinds_can_be_written(method):
    response = getattr(Client(), method)("/api/flow_runs/00000000-0000-4000-8000-000000000001")
    assert response.status_code == 405


# The real CLI ----------------------------------------------------------------------------


def cli_env(api_url: str, home: Path) -> dict[str, str]:
    env = client_env(api_url, home, "empty-store")
    env.update(COLUMNS="320", LINES="50", NO_COLOR="1", TERM="dumb")
    env.update(PREFECT_CLI_COLORS="false", PREFECT_CLI_WRAP_LINES="false")
    return env


@pytest.mark.interop
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("step", COMMANDS, ids=[" ".join(step["argv"]) for step in COMMANDS])
def test_the_cli_command_prints_what_it_printed_against_prefects_empty_server(
    live_server, tmp_path, step
):
    if not PREFECT.exists():
        pytest.fail(f"{PREFECT.relative_to(ROOT)} is missing: run scripts/interop-venv")
    result = subprocess.run(
        [str(PREFECT), "--no-prompt", *step["argv"]],
        env=cli_env(f"{live_server.url}/api", tmp_path / "prefect-home"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = DELIBERATE_OUTPUT.get(tuple(step["argv"]), masked_text(step["stdout"]))
    assert (result.returncode, masked_text(result.stdout)) == (step["exit_code"], expected)
    assert "Traceback" not in result.stderr


# Creating a tag concurrency limit: refused, saying what to use instead -----------------


@pytest.mark.django_db
def test_creating_a_tag_limit_is_refused_saying_what_to_use_instead():
    before = database_fingerprint()
    key = ApiKeyFactory(access=ApiKeyAccess.WRITE)
    response = Client().post(
        "/api/concurrency_limits/",
        {"tag": "etl", "concurrency_limit": 2},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key.secret}",
    )
    assert (response.status_code, response.json()) == (403, {"detail": NO_TAG_LIMITS})
    assert database_fingerprint() == before


@pytest.mark.interop
@pytest.mark.django_db(transaction=True)
def test_the_cli_shows_why_a_tag_limit_cannot_be_created(live_server, tmp_path):
    env = cli_env(f"{live_server.url}/api", tmp_path / "prefect-home")
    env["PREFECT_API_KEY"] = ApiKeyFactory(access=ApiKeyAccess.WRITE).secret
    result = subprocess.run(
        [str(PREFECT), "--no-prompt", "concurrency-limit", "create", "etl", "2"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The CLI does not catch the 403: it ends its traceback with the catalog's message.
    assert result.returncode == 1
    assert "403 Forbidden" in result.stdout + result.stderr
    assert NO_TAG_LIMITS in result.stdout + result.stderr
