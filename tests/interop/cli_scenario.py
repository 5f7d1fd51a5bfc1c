"""The real `prefect` CLI (3.9.1) driven through a day of an operator's work, against
whatever server `PREFECT_API_URL` names: a real Prefect server (scripts/capture_cli_reference.py
records that once, in tests/data/prefect-cli/captured.json) or the catalog
(tests/test_cli_interop.py, which compares the two).

Run with the interop virtualenv's python:

    cli_scenario.py PROJECT_DIR OUTPUT_JSON

It copies the prefect.yaml project in PROJECT_DIR to a scratch folder, runs every step of
STEPS there with the CLI, and writes, for each step, its exit code and what it printed,
plus what the server stored at three points (after the first deploy, after the second,
and at the end), read back through the API. Nothing is masked here: the comparison masks.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PREFECT = str(Path(sys.executable).with_name("prefect"))
COMMAND_TIMEOUT = 120
# The environment `{{ $VAR }}` templates read; UNSET_IN_TESTS is left unset on purpose.
TEMPLATE_ENV = {
    "REGION": "eu-central-1",
    "TEAM": "data-eng",
    "RELEASE": "2026.12.1",
    "DEPLOY_BRANCH": "main",
}

SNAPSHOT = "snapshot"
PAUSE = "pause"
# A step is a CLI command (`argv`), a snapshot of what the server stores, or a deployment
# paused through the API (as ops staff pause one in a UI; the CLI has no pause command).
# Arguments like "{schedule:FLOW/DEPLOYMENT/SLUG}" are replaced by that schedule's id.
STEPS = [
    ["work-pool", "create", "etl-pool", "--type", "process"],
    ["work-pool", "create", "reports-pool", "--type", "process"],
    ["variable", "set", "batch_size", "500"],
    ["variable", "set", "team_name", "data-eng"],
    ["variable", "set", "git_token", "s3cret"],
    ["global-concurrency-limit", "create", "etl-slots", "--limit", "5"],
    ["deploy", "--all"],
    [SNAPSHOT, "first-deploy"],
    [PAUSE, "load-orders/orders-hourly"],
    ["deploy", "--all"],
    ["deploy", "-n", "orders-hourly"],
    ["deploy", "--prefect-file", "prefect.yaml", "-n", "cleanup-dry-run"],
    [SNAPSHOT, "second-deploy"],
    ["deployment", "ls"],
    ["flow", "ls"],
    ["deployment", "inspect", "load-orders/orders-nightly"],
    ["deployment", "inspect", "load-orders/orders-nightly", "--output", "json"],
    ["deployment", "schedule", "ls", "load-orders/orders-nightly"],
    [
        "deployment",
        "schedule",
        "create",
        "load-orders/orders-nightly",
        "--cron",
        "0 4 * * *",
        "--timezone",
        "UTC",
    ],
    [
        "deployment",
        "schedule",
        "pause",
        "load-orders/orders-nightly",
        "{schedule:load-orders/orders-nightly/nightly}",
    ],
    [
        "deployment",
        "schedule",
        "resume",
        "load-orders/orders-nightly",
        "{schedule:load-orders/orders-nightly/nightly}",
    ],
    [
        "deployment",
        "schedule",
        "delete",
        "load-orders/orders-nightly",
        "{schedule:load-orders/orders-nightly/weekday-morning}",
        "-y",
    ],
    ["deployment", "schedule", "clear", "cleanup/cleanup-dry-run", "-y"],
    ["deployment", "schedule", "ls", "load-orders/orders-nightly"],
    ["deployment", "run", "load-orders/orders-hourly"],
    ["work-pool", "ls"],
    ["work-pool", "inspect", "etl-pool"],
    ["work-queue", "ls"],
    ["work-queue", "ls", "--pool", "reports-pool"],
    ["variable", "get", "team_name"],
    ["variable", "set", "team_name", "platform", "--overwrite"],
    ["variable", "unset", "git_token"],
    ["variable", "ls"],
    ["global-concurrency-limit", "ls"],
    ["global-concurrency-limit", "inspect", "etl-slots"],
    ["global-concurrency-limit", "update", "etl-slots", "--limit", "10"],
    ["global-concurrency-limit", "inspect", "etl-slots"],
    ["global-concurrency-limit", "delete", "etl-slots"],
    ["deployment", "delete", "daily-report/reports-adhoc"],
    ["work-pool", "create", "scratch-pool", "--type", "process"],
    ["work-pool", "delete", "scratch-pool"],
    ["deployment", "ls"],
    [SNAPSHOT, "end"],
]


def api_client():
    import httpx  # only the interop virtualenv has it; the tests import this module too

    headers = {}
    if key := os.environ.get("PREFECT_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=os.environ["PREFECT_API_URL"].rstrip("/"), headers=headers)


def posted(client, path: str, body: dict) -> list:
    response = client.post(path, json=body)
    response.raise_for_status()
    return response.json()


def stored(client) -> dict:
    """What the server keeps of the project, each list in a fixed order."""
    pools = posted(client, "/work_pools/filter", {})
    return {
        "flows": posted(client, "/flows/filter", {"sort": "NAME_ASC"}),
        "deployments": posted(client, "/deployments/filter", {"sort": "NAME_ASC"}),
        "work_pools": sorted(pools, key=lambda pool: pool["name"]),
        "work_queues": {
            pool["name"]: sorted(
                posted(client, f"/work_pools/{pool['name']}/queues/filter", {}),
                key=lambda queue: queue["name"],
            )
            for pool in sorted(pools, key=lambda pool: pool["name"])
        },
        "variables": posted(client, "/variables/filter", {"sort": "NAME_ASC"}),
        "concurrency_limits": sorted(
            posted(client, "/v2/concurrency_limits/filter", {}),
            key=lambda limit: limit["name"],
        ),
    }


def pause(client, reference: str) -> None:
    response = client.get(f"/deployments/name/{reference}")
    response.raise_for_status()
    client.post(f"/deployments/{response.json()['id']}/pause_deployment").raise_for_status()


def schedule_id(client, reference: str) -> str:
    flow, deployment, slug = reference.split("/")
    response = client.get(f"/deployments/name/{flow}/{deployment}")
    response.raise_for_status()
    (schedule,) = (s for s in response.json()["schedules"] if s["slug"] == slug)
    return schedule["id"]


def resolved(client, argument: str) -> str:
    if argument.startswith("{schedule:") and argument.endswith("}"):
        return schedule_id(client, argument[len("{schedule:") : -1])
    return argument


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(TEMPLATE_ENV)
    env.pop("UNSET_IN_TESTS", None)
    # Plain, wide, uncoloured output, the same on every machine.
    env.update(COLUMNS="320", LINES="50", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
    env["PREFECT_CLI_COLORS"] = "false"
    env["PREFECT_CLI_WRAP_LINES"] = "false"
    return env


def run_step(client, argv: list[str], project: Path) -> dict:
    command = [PREFECT, "--no-prompt", *(resolved(client, a) for a in argv)]
    result = subprocess.run(
        command,
        cwd=project,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    return {
        "argv": argv,
        "exit_code": result.returncode,
        "stdout": result.stdout,
        "stderr": result.stderr,
    }


def project_digest(project: Path) -> str:
    """One digest of every file of the project, names and contents."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(project).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def main() -> None:
    source, output = Path(sys.argv[1]), Path(sys.argv[2])
    results: dict = {"project_sha256": project_digest(source), "steps": [], "stored": {}}
    with tempfile.TemporaryDirectory(prefix="cli-project-") as scratch, api_client() as client:
        project = Path(scratch) / "project"
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("__pycache__"))
        try:
            for step in STEPS:
                if step[0] == SNAPSHOT:
                    results["stored"][step[1]] = stored(client)
                elif step[0] == PAUSE:
                    pause(client, step[1])
                else:
                    results["steps"].append(run_step(client, step, project))
        finally:  # what ran so far, to read when a step cannot go on
            output.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
