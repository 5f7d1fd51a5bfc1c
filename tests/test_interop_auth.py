"""The real Prefect client's credentials against a catalog that requires them.

`tests/interop/auth_scenario.py` runs in `.venv-interop/` (see tests/test_interop.py) with
PREFECT_API_KEY or PREFECT_API_AUTH_STRING set, and reports the steps it took and the
refusal that stopped it, if any.
"""

import base64
import json
import subprocess
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from catalog.models import ApiKeyAccess, Deployment, Flow
from tests.factories import ApiKeyFactory
from tests.test_interop import INTEROP_PYTHON, ROOT, TIMEOUT_SECONDS, client_env

SCENARIO = ROOT / "tests" / "interop" / "auth_scenario.py"
EVERY_STEP = ["read_deployments", "create_flow", "create_deployment", "read_deployment"]

pytestmark = [pytest.mark.interop, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def keys_required(settings):
    settings.CATALOG_ANONYMOUS_READ = False


def client_outcome(live_server, tmp_path, **credentials: str) -> dict:
    if not INTEROP_PYTHON.exists():
        pytest.fail(f"{INTEROP_PYTHON} is missing: run scripts/interop-venv", pytrace=False)
    run = uuid.uuid4().hex[:8]
    env = client_env(f"{live_server.url}/api", tmp_path / "prefect-home", run, **credentials)
    result = subprocess.run(
        [str(INTEROP_PYTHON), str(SCENARIO)],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    assert result.returncode == 0, f"{result.stdout}\n--- stderr ---\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_client_with_a_write_key_creates_and_reads_a_deployment(live_server, tmp_path):
    key = ApiKeyFactory()
    outcome = client_outcome(live_server, tmp_path, PREFECT_API_KEY=key.secret)
    assert outcome == {"done": [*EVERY_STEP, "delete_flow"], "refused": None}
    assert not Flow.objects.exists() and not Deployment.objects.exists()


def test_the_client_with_a_wrong_key_is_refused_401(live_server, tmp_path):
    ApiKeyFactory()
    outcome = client_outcome(live_server, tmp_path, PREFECT_API_KEY="pcat_not-a-key")
    assert outcome == {
        "done": [],
        "refused": {
            "step": "read_deployments",
            "status": 401,
            "body": {"detail": "Invalid API key."},
        },
    }


def test_the_client_with_a_revoked_key_is_refused_401(live_server, tmp_path):
    key = ApiKeyFactory(revoked=timezone.now())
    outcome = client_outcome(live_server, tmp_path, PREFECT_API_KEY=key.secret)
    assert outcome["refused"] == {
        "step": "read_deployments",
        "status": 401,
        "body": {"detail": "API key revoked."},
    }


def test_the_client_with_a_read_only_key_reads_but_may_not_write(live_server, tmp_path):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    outcome = client_outcome(live_server, tmp_path, PREFECT_API_KEY=key.secret)
    assert outcome == {
        "done": ["read_deployments"],
        "refused": {
            "step": "create_flow",
            "status": 403,
            "body": {"detail": "This API key is read-only."},
        },
    }
    assert not Flow.objects.exists()


def test_the_client_with_an_auth_string_writes_as_a_django_user(live_server, tmp_path, settings):
    settings.CATALOG_BASIC_AUTH = True
    user = User.objects.create_user("deployer", password="s3cret:with-colon")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog"))
    outcome = client_outcome(
        live_server, tmp_path, PREFECT_API_AUTH_STRING="deployer:s3cret:with-colon"
    )
    assert outcome == {"done": [*EVERY_STEP, "delete_flow"], "refused": None}


def test_the_client_locked_out_is_refused_401_at_once_with_the_reason(
    live_server, tmp_path, settings, client
):
    """A 401, not a 429 the client would retry for a minute (catalog/api/logins.py)."""
    settings.CATALOG_BASIC_AUTH = True
    User.objects.create_user("deployer", password="the-right-one")
    wrong = "Basic " + base64.b64encode(b"deployer:wrong").decode()
    for _ in range(settings.CATALOG_LOGIN_FAILURE_LIMIT):
        client.get("/api/flows/name/any", HTTP_AUTHORIZATION=wrong, REMOTE_ADDR="127.0.0.1")
    outcome = client_outcome(
        live_server, tmp_path, PREFECT_API_AUTH_STRING="deployer:the-right-one"
    )
    assert outcome == {
        "done": [],
        "refused": {
            "step": "read_deployments",
            "status": 401,
            "body": {
                "detail": "Too many failed logins for this username from your address: locked "
                "out for up to 15 minutes after the last counted failure. An administrator "
                "can unlock it sooner."
            },
        },
    }
