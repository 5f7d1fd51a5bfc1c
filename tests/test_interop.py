"""The real Prefect client (3.9.1) against this app, served on loopback by `live_server`.

The client lives in its own virtualenv, `.venv-interop/` (made by `scripts/interop-venv`,
which `scripts/test` runs), so it never mixes with the app's dependencies. The test runs
`tests/interop/client_scenario.py` there with `PREFECT_API_URL` pointing at the live server
and a write key in `PREFECT_API_KEY`; the scenario checks every answer, validated
beforehand against a real Prefect server, and cleans up after itself. Then the database
must hold nothing of what the client made.
"""

import json
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from catalog.models import ConcurrencyLimit, Deployment, DeploymentSchedule, Flow
from tests.factories import ApiKeyFactory

ROOT = Path(__file__).resolve().parent.parent
INTEROP_PYTHON = ROOT / ".venv-interop" / "bin" / "python"
SCENARIO = ROOT / "tests" / "interop" / "client_scenario.py"
TIMEOUT_SECONDS = 180

pytestmark = [pytest.mark.interop, pytest.mark.django_db(transaction=True)]


def client_env(api_url: str, prefect_home: Path, run: str, **credentials: str) -> dict[str, str]:
    """The client's environment; `credentials` are PREFECT_API_KEY or PREFECT_API_AUTH_STRING."""
    # Nothing of the caller's Prefect configuration (profile, API key, URL) leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_HOME=str(prefect_home),
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        INTEROP_RUN=run,
        PYTHONUNBUFFERED="1",
        **credentials,
    )
    return env


def row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Flow, Deployment, DeploymentSchedule, ConcurrencyLimit)
    }


def test_the_real_prefect_client_works_against_the_api(live_server, tmp_path):
    if not INTEROP_PYTHON.exists():
        pytest.fail(
            f"{INTEROP_PYTHON.relative_to(ROOT)} is missing: run scripts/interop-venv "
            "(scripts/test does) to install the real Prefect client it needs",
            pytrace=False,
        )
    before = row_counts()
    run = uuid.uuid4().hex[:8]
    command = [str(INTEROP_PYTHON), str(SCENARIO)]
    try:
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env=client_env(
                f"{live_server.url}/api",
                tmp_path / "prefect-home",
                run,
                PREFECT_API_KEY=ApiKeyFactory(name=f"interop-{run}").secret,
            ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as exc:

        def text(value):
            return value.decode(errors="replace") if isinstance(value, bytes) else value or ""

        pytest.fail(
            f"the Prefect client scenario ran over {TIMEOUT_SECONDS} s against "
            f"{live_server.url}/api\n--- output ---\n{text(exc.stdout)}"
            f"--- stderr ---\n{text(exc.stderr)}",
            pytrace=False,
        )

    output = result.stdout
    if result.returncode != 0:
        failure = next((ln for ln in output.splitlines() if ln.startswith("FAIL ")), None)
        pytest.fail(
            f"the Prefect client scenario exited {result.returncode} against "
            f"{live_server.url}/api: {failure or 'see the output'}\n"
            f"--- output ---\n{output}--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    lines = output.strip().splitlines()
    assert lines, f"no output from the scenario; stderr:\n{result.stderr}"
    summary = json.loads(lines[-1])
    passed = [ln for ln in lines if ln.startswith("ok ")]
    assert summary == {"checks": len(passed)}, output
    assert len(passed) >= 25, output

    # The client deleted everything it made: its flow, its deployments, their schedules and
    # the global concurrency limit that `concurrency_limit=2` made.
    assert not Flow.objects.filter(name=f"interop-flow-{run}").exists()
    assert not Deployment.objects.filter(name__startswith=f"interop-{run}-").exists()
    assert row_counts() == before
    assert re.search(r"^ok delete_flow$", output, re.MULTILINE)
