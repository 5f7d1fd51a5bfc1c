"""Capture what `prefect deploy --all --no-prompt` stores on a real Prefect server.

Run from the repository root with the interop virtualenv, against a fresh server:

    .venv-interop/bin/python tests/data/prefect-deploy-templating/capture.py \
        http://127.0.0.1:4302/api tests/data/prefect-deploy-templating

It creates the variables of `variables.json` and the work pools of `pools.json`, runs
`prefect deploy --all --no-prompt` in `project/` with `env.json` added to the environment,
and writes `deploy.out` (exit code and output) and `stored.json` (the deployments, sorted
by name, and each pool's work queues)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

api, folder = sys.argv[1], Path(sys.argv[2]).absolute()
client = httpx.Client(base_url=api)
for variable in json.loads((folder / "variables.json").read_text()):
    client.post("/variables/", json=variable).raise_for_status()
pools = json.loads((folder / "pools.json").read_text()) if (folder / "pools.json").exists() else []
for pool in pools:
    client.post("/work_pools/", json=pool).raise_for_status()

env = {**os.environ, **json.loads((folder / "env.json").read_text())}
env.update(PREFECT_API_URL=api, PREFECT_HOME=str(folder / ".prefect-cli-home"))
prefect = Path(sys.executable).parent / "prefect"
deploy = subprocess.run(
    [str(prefect), "--no-prompt", "deploy", "--all"],
    cwd=folder / "project",
    env=env,
    capture_output=True,
    text=True,
)
(folder / "deploy.out").write_text(
    f"exit code: {deploy.returncode}\n--- stdout\n{deploy.stdout}--- stderr\n{deploy.stderr}"
)
deployments = client.post("/deployments/filter", json={"sort": "NAME_ASC"}).json()
queues = {
    pool["name"]: client.post(f"/work_pools/{pool['name']}/queues/filter", json={}).json()
    for pool in client.post("/work_pools/filter", json={}).json()
}
stored = {"deployments": deployments, "work_queues": queues}
(folder / "stored.json").write_text(json.dumps(stored, indent=2) + "\n")
