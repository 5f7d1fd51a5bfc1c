#!/usr/bin/env python3
"""Run the Prefect CLI's read commands of what the catalog does not keep (flow runs, task
runs, blocks, artifacts, automations, tag concurrency limits) against a Prefect server
with an empty database, and keep what each printed in
tests/data/prefect-empty-store/cli.json. tests/test_empty_store.py runs the same
commands against the catalog and compares.

Usage, from the repository root, with the interop virtualenv's python:

    PREFECT_API_URL=http://127.0.0.1:4304/api PREFECT_HOME=/tmp/ph-cli \\
        .venv-interop/bin/python scripts/capture_empty_store_cli.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "data" / "prefect-empty-store" / "cli.json"
PREFECT = str(Path(sys.executable).with_name("prefect"))
MISSING_ID = "00000000-0000-4000-8000-000000000001"
COMMANDS = [
    ["flow-run", "ls"],
    ["flow-run", "ls", "--flow-name", "x"],
    ["flow-run", "inspect", MISSING_ID],
    ["task-run", "ls"],
    ["task-run", "inspect", MISSING_ID],
    ["block", "ls"],
    ["block", "type", "ls"],
    ["block", "inspect", "secret/missing"],
    ["block", "inspect", "--id", MISSING_ID],
    ["artifact", "ls"],
    ["artifact", "inspect", "missing"],
    ["automation", "ls"],
    ["automation", "inspect", "missing"],
    ["automation", "inspect", "--id", MISSING_ID],
    ["concurrency-limit", "ls"],
    ["concurrency-limit", "inspect", "sometag"],
    ["deployment", "ls"],
    ["deployment", "ls", "--flow-name", "x"],
    ["work-queue", "ls"],
    ["work-queue", "inspect", "missing"],
]


def cli_env() -> dict[str, str]:
    """Plain, wide, uncoloured output, the same on every machine."""
    env = dict(os.environ)
    env.update(COLUMNS="320", LINES="50", NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1")
    env.update(PREFECT_CLI_COLORS="false", PREFECT_CLI_WRAP_LINES="false")
    return env


def run(argv: list[str]) -> dict:
    result = subprocess.run(
        [PREFECT, "--no-prompt", *argv],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {
        "argv": argv,
        "exit_code": result.returncode,
        "stdout": result.stdout,
        "stderr": result.stderr,
    }


def main() -> None:
    steps = [run(argv) for argv in COMMANDS]
    OUTPUT.write_text(json.dumps(steps, indent=2, ensure_ascii=False) + "\n")
    for step in steps:
        print(step["exit_code"], " ".join(step["argv"]))


if __name__ == "__main__":
    main()
