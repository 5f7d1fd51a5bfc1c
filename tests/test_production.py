"""The production set-up, run for real: `check --deploy` with config/production.env.example,
and gunicorn started with config/gunicorn.conf.py on a loopback port, serving the API,
collected static files and the body limit on a scratch database of the suite's backend."""

import gzip
import json
import os
import runpy
import secrets
import socket
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit

import django
import pytest
from django.conf import settings

from tests.servers import (
    ROOT,
    gunicorn,
    manage,
    managed,
    production_variables,
    scratch_database,
    send,
    server_environment,
    write_key_for,
)

GUNICORN_CONF = ROOT / "config" / "gunicorn.conf.py"
ADMIN_CSS = Path(django.__file__).parent / "contrib" / "admin" / "static" / "admin" / "css"
BODY_LIMIT = 64 * 1024


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


# Deploy checks -------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_production_variables():
    env = server_environment(**production_variables() | {"DJANGO_SECRET_KEY": new_secret_key()})
    finished = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert finished.returncode == 0, finished.stderr
    assert "no issues" in finished.stdout


def test_check_deploy_warns_without_them():
    finished = manage("check", "--deploy", "--fail-level", "WARNING", env=server_environment())
    assert finished.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in finished.stderr


def test_the_production_variables_need_a_secret_key():
    finished = manage("check", env=server_environment(**production_variables()))
    assert finished.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in finished.stderr


def test_the_production_variables_turn_anonymous_reads_off():
    assert production_variables()["CATALOG_ANONYMOUS_READ"] == "false"


# config/gunicorn.conf.py ---------------------------------------------------------------


@pytest.fixture
def gunicorn_conf(monkeypatch):
    """The conf file's settings, read with none of its variables set but those given."""
    for name in [name for name in os.environ if name.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)

    def read(**variables: str) -> dict:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(GUNICORN_CONF))

    return read


def test_gunicorn_listens_on_loopback_by_default(gunicorn_conf):
    assert gunicorn_conf()["bind"] == ["127.0.0.1:8000"]


def test_gunicorn_runs_two_workers_a_cpu_and_one_more(gunicorn_conf):
    conf = gunicorn_conf()
    assert [conf["default_workers"](cpus) for cpus in (1, 2, 4)] == [3, 5, 9]
    assert conf["workers"] == conf["default_workers"](conf["available_cpus"]())


def test_gunicorn_caps_its_default_workers_for_the_database_connections(gunicorn_conf):
    assert gunicorn_conf()["default_workers"](64) == 12


def test_gunicorn_reads_workers_and_timeouts_from_the_environment(gunicorn_conf):
    conf = gunicorn_conf(GUNICORN_WORKERS="5", GUNICORN_TIMEOUT="90", GUNICORN_BIND="10.0.0.5:80")
    assert (conf["workers"], conf["timeout"], conf["bind"]) == (5, 90, ["10.0.0.5:80"])


def test_gunicorn_refuses_a_worker_count_it_cannot_read(gunicorn_conf):
    with pytest.raises(ValueError, match="GUNICORN_WORKERS must be a whole number"):
        gunicorn_conf(GUNICORN_WORKERS="many")


def test_gunicorn_keeps_its_access_log_off_unless_asked(gunicorn_conf):
    assert gunicorn_conf()["accesslog"] is None
    assert gunicorn_conf(GUNICORN_ACCESS_LOG="-")["accesslog"] == "-"


# A served catalog ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Gunicorn on a migrated scratch database, with static files collected as production
    collects them, behind one trusted proxy and with a 64 KiB body limit."""
    directory = tmp_path_factory.mktemp("served")
    database = scratch_database("served", directory)
    env = server_environment(
        DATABASE_URL=database.url,
        DJANGO_STATIC_ROOT=str(directory / "static"),
        DJANGO_STATIC_USE_FINDERS="false",
        CATALOG_PROXY_COUNT="1",
        CATALOG_MAX_BODY_BYTES=str(BODY_LIMIT),
    )
    managed("migrate", "--noinput", env=env)
    managed("collectstatic", "--noinput", env=env)
    CREDENTIALS["Authorization"] = f"Bearer {write_key_for(env)}"
    log = directory / "gunicorn.log"
    try:
        with gunicorn(env, log) as url:
            yield url, database, log
    finally:
        database.drop()


# The served database's write key, as a request header.
CREDENTIALS: dict[str, str] = {}


def flow_body(name: str, padding: int = 0) -> bytes:
    return json.dumps({"name": name, "labels": {"padding": "x" * padding}}).encode()


def post_chunked(url: str, path: str, body: bytes) -> tuple[int, bytes]:
    """A POST without Content-Length, its body in 8 KiB chunks, as streaming clients send."""
    address = urlsplit(url)
    connection = HTTPConnection(address.hostname, address.port, timeout=30)
    chunks = (body[start : start + 8192] for start in range(0, len(body), 8192))
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked", **CREDENTIALS}
    connection.request("POST", path, body=chunks, headers=headers, encode_chunked=True)
    response = connection.getresponse()
    answer = response.status, response.read()
    connection.close()
    return answer


def flow_names(database) -> list[str]:
    return [name for (name,) in database.rows("SELECT name FROM catalog_flow ORDER BY name")]


def test_gunicorn_serves_the_api(served):
    url, _, _ = served
    answer = send(f"{url}/api/health")
    assert (answer.status, answer.body) == (200, b"true")


def test_gunicorn_serves_collected_admin_static_files_compressed(served):
    url, _, _ = served
    answer = send(f"{url}/static/admin/css/base.css", Accept_Encoding="gzip")
    assert answer.status == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(answer.body) == (ADMIN_CSS / "base.css").read_bytes()


def test_gunicorn_passes_a_chunked_body_within_the_limit_to_the_view(served):
    url, database, _ = served
    status, _ = post_chunked(url, "/api/flows/", flow_body("sent-in-chunks", padding=20_000))
    assert status == 201
    assert "sent-in-chunks" in flow_names(database)


def test_gunicorn_refuses_a_chunked_body_over_the_limit_and_stores_nothing(served):
    url, database, _ = served
    status, body = post_chunked(url, "/api/flows/", flow_body("too-big", padding=BODY_LIMIT))
    assert (status, json.loads(body)) == (
        413,
        {"detail": f"Request body too large: the limit is {BODY_LIMIT} bytes."},
    )
    assert "too-big" not in flow_names(database)


def test_gunicorn_refuses_a_body_over_the_limit_by_its_content_length(served):
    url, database, _ = served
    body = flow_body("too-big-with-length", padding=BODY_LIMIT)
    answer = send(f"{url}/api/flows/", "POST", body, Content_Type="application/json")
    assert answer.status == 413
    assert "too-big-with-length" not in flow_names(database)


def test_gunicorn_logs_a_json_line_per_request(served):
    url, _, log = served
    send(f"{url}/api/health", X_Request_ID="probe-42", X_Forwarded_For="203.0.113.9")
    entry = logged_request(log, "probe-42")
    assert entry["message"] == "GET /api/health 200"
    assert (entry["remote_addr"], entry["status"], entry["bytes_out"]) == ("203.0.113.9", 200, 4)


def logged_request(log: Path, request_id: str, seconds: float = 10) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("request_id") == request_id:
                return json.loads(line)
        time.sleep(0.1)
    raise AssertionError(f"no log line for request {request_id}:\n{log.read_text()}")


# A database out of reach ---------------------------------------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_database_url(directory: Path) -> str:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{directory / 'no-such-directory' / 'catalog.sqlite3'}"
    return f"postgres://postgres@127.0.0.1:{closed_port()}/catalog"


def test_ready_answers_503_in_json_when_the_database_is_out_of_reach(tmp_path):
    env = server_environment(DATABASE_URL=unreachable_database_url(tmp_path))
    with gunicorn(env, tmp_path / "gunicorn.log") as url:
        ready = send(f"{url}/api/ready")
        health = send(f"{url}/api/health")
    assert ready.status == 503
    assert ready.headers["Content-Type"] == "application/json"
    assert json.loads(ready.body) == {"message": "Database is not available"}
    assert health.status == 200
