"""Faults: PostgreSQL stopped mid-run, then started again.

Gunicorn with several workers serves a private PostgreSQL cluster, which the tests stop with
a fast shutdown (cutting off every worker's persistent connection) and start again on the
same port. While it is down, `/api/ready` and the API answer 503 with a JSON body, never an
HTML 500, and `/api/health`, which reads no database, stays 200. Once it is back, the same
gunicorn, never restarted, answers as before from the first request on, every worker on a
new connection.

The cluster is the tests' own, whatever the suite runs on; like the suite's other
PostgreSQL-only tests they run with `--db=postgres` and are skipped on SQLite.
"""

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection  # noqa: F401 (read by the skipif condition)

from tests.servers import (
    Answer,
    PrivatePostgres,
    gunicorn,
    managed,
    private_postgres,
    send,
    server_environment,
    write_key_for,
)

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="runs with --db=postgres: PostgreSQL stopped under a running server",
)

WORKERS = 2
DATABASE = "catalog"
# Every access log line names the worker that answered, so a test knows that each one did;
# given in GUNICORN_CMD_ARGS, which gunicorn reads over config/gunicorn.conf.py.
ACCESS_LOG_FORMAT = "%(p)s %({x-request-id}o)s"
EVERY_WORKER_SECONDS = 30

SERVICE_UNAVAILABLE = {"exception_message": "Service Unavailable"}
DATABASE_NOT_AVAILABLE = {"message": "Database is not available"}


@dataclass
class Served:
    url: str
    cluster: PrivatePostgres
    key: str
    log: Path
    access_log: Path
    deployment: dict = field(default_factory=dict)

    def call(self, method: str, path: str, body: dict | None = None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        return send(f"{self.url}{path}", method, data, **headers)

    def read_deployment(self) -> Answer:
        return self.call("GET", f"/api/deployments/{self.deployment['id']}")

    def ready(self) -> Answer:
        return self.call("GET", "/api/ready")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Gunicorn on a migrated database of a private cluster, with one deployment in it."""
    directory = tmp_path_factory.mktemp("faults")
    with private_postgres() as cluster:
        cluster.create_database(DATABASE)
        env = server_environment(
            DATABASE_URL=cluster.url(DATABASE),
            CATALOG_ANONYMOUS_READ="false",
            # Longer than the module runs: each worker keeps one connection throughout.
            DATABASE_CONN_MAX_AGE="600",
        )
        managed("migrate", "--noinput", env=env)
        key = write_key_for(env)
        access_log = directory / "access.log"
        env |= {
            "GUNICORN_ACCESS_LOG": str(access_log),
            "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'",
        }
        log = directory / "gunicorn.log"
        with gunicorn(env, log, workers=WORKERS) as url:
            served = Served(url, cluster, key, log, access_log)
            served.deployment = a_deployment_created_and_read(served)
            yield served


def a_deployment_created_and_read(served: Served) -> dict:
    flow = served.call("POST", "/api/flows/", {"name": "faulty-flow"})
    assert flow.status == 201, flow.body
    body = {"name": "faulty-deployment", "flow_id": json.loads(flow.body)["id"]}
    created = served.call("POST", "/api/deployments/", body)
    assert created.status == 201, created.body
    read = served.call("GET", f"/api/deployments/{json.loads(created.body)['id']}")
    assert read.status == 200, read.body
    return json.loads(read.body)


@pytest.fixture
def down(served):
    """`served` with PostgreSQL stopped once every worker holds its connection; started
    again after the test if the test has not."""
    every_worker_holds_a_connection(served)
    served.cluster.stop()
    yield served
    if not served.cluster.is_running():
        served.cluster.start()


# Which worker answered -----------------------------------------------------------------


def from_every_worker(served: Served, request: Callable[[], Answer]) -> list[Answer]:
    """Sends `request` in concurrent rounds until every worker has answered at least one;
    all the answers."""
    answers: list[Answer] = []
    deadline = time.monotonic() + EVERY_WORKER_SECONDS
    while workers_that_answered(served, answers) != workers(served):
        assert time.monotonic() < deadline, f"a worker never answered:\n{served.log.read_text()}"
        with ThreadPoolExecutor(2 * WORKERS) as pool:
            answers += pool.map(lambda _: request(), range(2 * WORKERS))
    return answers


def workers(served: Served) -> set[str]:
    pids = set(re.findall(r"Booting worker with pid: (\d+)", served.log.read_text()))
    assert len(pids) == WORKERS, f"a worker was replaced:\n{served.log.read_text()}"
    return pids


def workers_that_answered(served: Served, answers: list[Answer]) -> set[str]:
    request_ids = {answer.headers["X-Request-ID"] for answer in answers}
    lines = served.access_log.read_text().splitlines() if served.access_log.exists() else []
    answered = (line.split() for line in lines)
    return {pid.strip("<>") for pid, request_id in answered if request_id in request_ids}


def every_worker_holds_a_connection(served: Served) -> None:
    assert_all(from_every_worker(served, served.read_deployment), 200, served.deployment)
    assert app_connections(served.cluster) == WORKERS


def app_connections(cluster: PrivatePostgres) -> int:
    sql = (
        "SELECT count(*) FROM pg_stat_activity "
        f"WHERE datname = '{DATABASE}' AND backend_type = 'client backend'"
    )
    return cluster.rows(sql)[0][0]


def assert_all(answers: list[Answer], status: int, body) -> None:
    """Every answer has `status` and the JSON `body`, sent as JSON: never an HTML page."""
    for answer in answers:
        assert answer.status == status, answer.body
        assert answer.headers["Content-Type"] == "application/json", answer.body
        assert json.loads(answer.body) == body


# PostgreSQL down -----------------------------------------------------------------------


def test_ready_answers_503_in_json_while_postgres_is_down(down):
    assert_all(from_every_worker(down, down.ready), 503, DATABASE_NOT_AVAILABLE)


def test_a_read_answers_503_in_json_while_postgres_is_down(down):
    assert_all(from_every_worker(down, down.read_deployment), 503, SERVICE_UNAVAILABLE)


def test_a_filter_answers_503_in_json_while_postgres_is_down(down):
    def filter_deployments() -> Answer:
        return down.call("POST", "/api/deployments/filter", {})

    assert_all(from_every_worker(down, filter_deployments), 503, SERVICE_UNAVAILABLE)


def test_a_write_answers_503_in_json_while_postgres_is_down(down):
    def pause_the_deployment() -> Answer:
        return down.call("PATCH", f"/api/deployments/{down.deployment['id']}", {"paused": True})

    assert_all(from_every_worker(down, pause_the_deployment), 503, SERVICE_UNAVAILABLE)


def test_health_stays_200_while_postgres_is_down(down):
    assert_all(from_every_worker(down, lambda: down.call("GET", "/api/health")), 200, True)


# PostgreSQL back -----------------------------------------------------------------------


def test_the_same_server_answers_as_before_once_postgres_is_back(down):
    assert_all(from_every_worker(down, down.read_deployment), 503, SERVICE_UNAVAILABLE)
    down.cluster.start()
    assert_all([down.ready()], 200, {"message": "OK"})
    assert_all(from_every_worker(down, down.read_deployment), 200, down.deployment)
    assert app_connections(down.cluster) == WORKERS


def test_a_restart_between_requests_costs_no_request(served):
    every_worker_holds_a_connection(served)
    served.cluster.stop()
    served.cluster.start()
    assert_all(from_every_worker(served, served.read_deployment), 200, served.deployment)
    assert app_connections(served.cluster) == WORKERS
