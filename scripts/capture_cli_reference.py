"""Capture what the real Prefect CLI does against the real Prefect 3.9.1 server, once.

    scripts/interop-venv && .venv-interop/bin/python scripts/capture_cli_reference.py

Starts a Prefect server on 127.0.0.1 with an empty database of its own, runs
tests/interop/cli_scenario.py against it on the project in tests/data/cli-project/, and
keeps what the CLI printed and what the server stored in tests/data/prefect-cli/captured.json.
tests/test_cli_interop.py runs the same scenario against the catalog and compares.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "interop" / "cli_scenario.py"
PROJECT = ROOT / "tests" / "data" / "cli-project"
CAPTURED = ROOT / "tests" / "data" / "prefect-cli" / "captured.json"
PREFECT = Path(sys.executable).with_name("prefect")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_ready(api: str, server: subprocess.Popen) -> None:
    for _ in range(120):
        if server.poll() is not None:
            sys.exit(f"the Prefect server stopped (exit {server.returncode})")
        try:
            if httpx.get(f"{api}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    sys.exit("the Prefect server did not answer /health within 60 s")


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="prefect-reference-"))
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    server_env = dict(
        env,
        PREFECT_HOME=str(home / "server"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",
    )
    command = [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(home / "server.log", "w") as log:
        server = subprocess.Popen(command, env=server_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(api, server)
        CAPTURED.parent.mkdir(parents=True, exist_ok=True)
        client_env = dict(env, PREFECT_API_URL=api, PREFECT_HOME=str(home / "client"))
        subprocess.run(
            [sys.executable, str(SCENARIO), str(PROJECT), str(CAPTURED)],
            env=client_env,
            check=True,
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"captured {CAPTURED.relative_to(ROOT)} from {api}")


if __name__ == "__main__":
    main()
