"""The real `prefect` CLI (3.9.1) against the catalog, compared with the real server.

`tests/interop/cli_scenario.py` runs an operator's day with the CLI: work pools,
variables and a global concurrency limit made, `prefect deploy --all` of the project in
`tests/data/cli-project/` twice (then with `-n` and `--prefect-file`), and every
deployment, schedule, flow, work-pool, work-queue, variable and limit command.
`scripts/capture_cli_reference.py` ran it once against a real Prefect 3.9.1 server and
kept the result in `tests/data/prefect-cli/captured.json`. Here it runs against the
catalog, and each command must exit as it did there and print the same thing, and the
server must store the same bodies, ids and timestamps masked.
"""

import ast
import json
import re
import subprocess

import pytest
from django.db import connection

from tests.conftest import ARTIFACTS
from tests.factories import ApiKeyFactory
from tests.interop.cli_scenario import project_digest
from tests.replay import shape
from tests.test_interop import INTEROP_PYTHON, ROOT, client_env

SCENARIO = ROOT / "tests" / "interop" / "cli_scenario.py"
PROJECT = ROOT / "tests" / "data" / "cli-project"
CAPTURED = ROOT / "tests" / "data" / "prefect-cli" / "captured.json"
TIMEOUT_SECONDS = 600

# What the catalog answers where it deliberately differs from Prefect's server: it
# stores deployments and runs nothing (README, "Where the catalog deliberately differs").
DELIBERATE = {
    ("deployment", "run", "load-orders/orders-hourly"): {
        "exit_code": 1,
        "stdout": (
            "Creating flow run for deployment 'load-orders/orders-hourly'...\n"
            "This catalog stores deployments and runs nothing: it cannot create a flow run "
            "of load-orders/orders-hourly. Run it from a Prefect server that has this "
            "deployment.\n"
        ),
    },
}

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SERVER = re.compile(r"http://(127\.0\.0\.1|localhost):\d+")
# Where the interop virtualenv is, which Python's warnings name: the clone's own folder.
INSTALLED = re.compile(r"\S*/site-packages/")
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d| UTC)?")
DATETIME_REPR = re.compile(r"DateTime\([\d, ]+tzinfo=Timezone\('UTC'\)\)")
LOG_CLOCK = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \|", re.MULTILINE)
AGO = re.compile(r"\b(a few seconds|an? \w+|\d+ \w+) ago\b")
PADDING = re.compile(r" {2,}")
RULES = re.compile(r"([━─═])\1+")


def masked_text(text: str) -> str:
    """CLI output with what differs between two runs masked: ids, the server's address,
    times, where the CLI is installed; and table padding, whose width follows the masked
    values."""
    text = DATETIME_REPR.sub("'<time>'", text)
    text = LOG_CLOCK.sub("<clock> |", INSTALLED.sub("<site-packages>/", text))
    text = ISO_TIME.sub("<time>", SERVER.sub("<server>", UUID.sub("<uuid>", text)))
    text = AGO.sub("<ago>", text)
    lines = (RULES.sub(r"\1", PADDING.sub(" ", line)).rstrip() for line in text.splitlines())
    return "\n".join(lines)


def literal(node: ast.expr):
    """A value printed by the CLI as a Python expression (a dict, or a model's repr
    such as `WorkPool(id='…', …)`), as plain data."""
    if isinstance(node, ast.Call):
        return {"__model__": ast.unparse(node.func)} | {
            keyword.arg: literal(keyword.value) for keyword in node.keywords
        }
    if isinstance(node, ast.Dict):
        return {literal(k): literal(v) for k, v in zip(node.keys, node.values, strict=True)}
    if isinstance(node, ast.List | ast.Tuple):
        return [literal(item) for item in node.elts]
    if isinstance(node, ast.Attribute):
        return ast.unparse(node)
    return ast.literal_eval(node)


def printed_value(text: str):
    """What a command printed, as data when it printed one JSON or Python value, so
    that key order inside user JSON compares as the replays compare it."""
    try:
        return shape(json.loads(text))
    except json.JSONDecodeError:
        pass
    try:
        tree = ast.parse(masked_text(text).strip(), mode="eval")
    except SyntaxError:
        return None
    return shape(literal(tree.body))


# Commands whose rows are sorted by names that hold random ids (a deployment's own limit
# is `deployment:<its id>`): once the ids are masked, their order says nothing.
ROWS_IN_RANDOM_ORDER = {("global-concurrency-limit", "ls")}


def rows_sorted(text: str) -> str:
    """A table's rows in a fixed order, its frame and headers kept in place."""
    lines = text.split("\n")
    rows = sorted(line for line in lines if line.startswith("│"))
    return "\n".join(rows.pop(0) if line.startswith("│") else line for line in lines)


def printed(step: dict) -> dict:
    value = printed_value(step["stdout"])
    text = masked_text(step["stdout"])
    if tuple(step["argv"]) in ROWS_IN_RANDOM_ORDER:
        text = rows_sorted(text)
    return {
        "exit_code": step["exit_code"],
        "stdout": value if value is not None else text,
        "stderr": masked_text(step["stderr"]),
    }


def stored_shape(snapshot: dict, kind: str):
    """What a snapshot holds of one kind, ids and timestamps masked. Limits are listed by
    name, and a deployment's own limit is named by its random id: they compare as a set."""
    if kind == "concurrency_limits":
        return sorted(shape(snapshot[kind]), key=repr)
    return shape(snapshot[kind])


def schedule_ids_by_slug(snapshot: dict) -> dict:
    return {
        (deployment["name"], schedule["slug"]): schedule["id"]
        for deployment in snapshot["deployments"]
        for schedule in deployment["schedules"]
    }


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(CAPTURED.read_text())


@pytest.fixture
def catalog_run(live_server, tmp_path) -> dict:
    if not INTEROP_PYTHON.exists():
        pytest.fail(
            f"{INTEROP_PYTHON.relative_to(ROOT)} is missing: run scripts/interop-venv "
            "(scripts/test does) to install the real Prefect CLI it needs",
            pytrace=False,
        )
    # Kept with the other test artifacts, to read what the CLI printed when a step differs.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    output = ARTIFACTS / f"cli-interop-{connection.vendor}.json"
    env = client_env(
        f"{live_server.url}/api",
        tmp_path / "prefect-home",
        "cli",
        PREFECT_API_KEY=ApiKeyFactory(name="prefect-cli").secret,
    )
    result = subprocess.run(
        [str(INTEROP_PYTHON), str(SCENARIO), str(PROJECT), str(output)],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"the CLI scenario failed:\n{result.stdout}{result.stderr}"
    return json.loads(output.read_text())


pytestmark = [pytest.mark.interop, pytest.mark.django_db(transaction=True)]


def test_the_real_cli_works_against_the_catalog_as_against_prefects_server(catalog_run, reference):
    """One run of the scenario (about a minute of CLI starts), three findings."""
    every_command_answers_as_against_prefects_server(catalog_run, reference)
    the_cli_stores_what_it_stores_on_prefects_server(catalog_run, reference)
    a_second_deploy_keeps_ids_by_slug_and_the_files_paused_flag(catalog_run)


def every_command_answers_as_against_prefects_server(catalog_run, reference):
    assert [step["argv"] for step in catalog_run["steps"]] == [
        step["argv"] for step in reference["steps"]
    ]
    for ours, theirs in zip(catalog_run["steps"], reference["steps"], strict=True):
        command = "prefect " + " ".join(ours["argv"])
        if tuple(ours["argv"]) in DELIBERATE:
            expected = DELIBERATE[tuple(ours["argv"])]
            assert theirs["exit_code"] == 0, command
            assert {"exit_code": ours["exit_code"], "stdout": ours["stdout"]} == expected, command
            continue
        assert printed(ours) == printed(theirs), command


def the_cli_stores_what_it_stores_on_prefects_server(catalog_run, reference):
    for moment in ("first-deploy", "second-deploy", "end"):
        ours, theirs = catalog_run["stored"][moment], reference["stored"][moment]
        assert list(ours) == list(theirs)
        for kind in theirs:
            assert stored_shape(ours, kind) == stored_shape(theirs, kind), f"{kind} after {moment}"


def a_second_deploy_keeps_ids_by_slug_and_the_files_paused_flag(catalog_run):
    first, second = (catalog_run["stored"][m] for m in ("first-deploy", "second-deploy"))
    assert schedule_ids_by_slug(second) == schedule_ids_by_slug(first)
    assert [d["id"] for d in second["deployments"]] == [d["id"] for d in first["deployments"]]
    paused = {d["name"]: d["paused"] for d in second["deployments"]}
    # `paused: true` in prefect.yaml stays paused. A deployment paused through the API
    # between the deploys runs again: `prefect deploy` sends `paused: false` for a
    # deployment whose prefect.yaml says nothing, and Prefect's server applies it too.
    assert [name for name, is_paused in paused.items() if is_paused] == ["orders-backfill"]


def test_the_capture_is_of_the_project_as_it_is_now(reference):
    """A changed prefect.yaml or flow file needs a new capture
    (scripts/capture_cli_reference.py), or the comparison would be with another project."""
    assert reference["project_sha256"] == project_digest(PROJECT)
