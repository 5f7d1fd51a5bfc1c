"""Scaling out: two gunicorn app servers on different loopback ports over one PostgreSQL,
as behind a load balancer. A write through one is read through the other at once, and
concurrent writes through both lose and duplicate nothing.

The servers share nothing but the database, so this runs on PostgreSQL only: SQLite is
the embedded, single-server default."""

import json
from collections import Counter

import pytest
from django.db import connection

from tests.servers import (
    at_once,
    gunicorn,
    managed,
    scratch_database,
    send,
    server_environment,
    write_key_for,
)

pytestmark = pytest.mark.skipif(
    f"{connection.vendor!r} != 'postgresql'",
    reason="several app servers share one PostgreSQL; SQLite is the single-server default",
)
THREADS_PER_SERVER = 6
DEPLOYMENTS_PER_THREAD = 8
SHARED_NAMES = 10


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Two gunicorn instances, two workers each, on one migrated scratch database."""
    directory = tmp_path_factory.mktemp("two_servers")
    database = scratch_database("two_servers", directory)
    env = server_environment(DATABASE_URL=database.url)
    managed("migrate", "--noinput", env=env)
    key = write_key_for(env)
    try:
        with (
            gunicorn(env, directory / "a.log", workers=2) as first,
            gunicorn(env, directory / "b.log", workers=2) as second,
        ):
            yield Cluster(first, second, key, database)
    finally:
        database.drop()


class Cluster:
    def __init__(self, first: str, second: str, key: str, database) -> None:
        self.urls = (first, second)
        self.key = key
        self.database = database

    def call(self, server: int, method: str, path: str, body=None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        answer = send(
            f"{self.urls[server]}/api{path}",
            method,
            data,
            Content_Type="application/json",
            Authorization=f"Bearer {self.key}",
        )
        return answer.status, json.loads(answer.body or b"null")

    def raw(self, server: int, path: str) -> bytes:
        answer = send(f"{self.urls[server]}/api{path}")
        assert answer.status == 200, answer.body
        return answer.body


def a_flow(cluster: Cluster, name: str) -> str:
    status, flow = cluster.call(0, "POST", "/flows/", {"name": name})
    assert status in (200, 201), flow
    return flow["id"]


def deployment_body(flow_id: str, name: str, minutes: int = 5) -> dict:
    schedule = {"schedule": {"interval": minutes * 60}, "slug": "every-few-minutes"}
    return {"name": name, "flow_id": flow_id, "tags": ["scale-out"], "schedules": [schedule]}


def test_a_write_through_one_server_is_read_through_the_other_at_once(servers):
    flow_id = a_flow(servers, "read-your-writes")
    status, created = servers.call(0, "POST", "/deployments/", deployment_body(flow_id, "seen"))
    assert status == 201, created
    path = f"/deployments/{created['id']}"
    assert servers.raw(1, path) == servers.raw(0, path)
    assert json.loads(servers.raw(1, path))["schedules"][0]["schedule"]["interval"] == 300.0

    status, _ = servers.call(1, "PATCH", path, {"description": "changed on the second"})
    assert status == 204
    assert json.loads(servers.raw(0, path))["description"] == "changed on the second"

    status, _ = servers.call(0, "POST", f"{path}/pause_deployment")
    assert status == 200
    assert json.loads(servers.raw(1, path))["paused"] is True

    status, _ = servers.call(1, "DELETE", path)
    assert status == 204
    assert servers.call(0, "GET", path) == (404, {"detail": "Deployment not found"})


def test_concurrent_writes_through_both_servers_lose_and_duplicate_nothing(servers):
    flow_id = a_flow(servers, "written-from-both")

    def write(thread: int) -> list[int]:
        server = thread % 2
        statuses = []
        for n in range(DEPLOYMENTS_PER_THREAD):
            own = deployment_body(flow_id, f"own-{thread}-{n}")
            statuses.append(servers.call(server, "POST", "/deployments/", own)[0])
        for n in range(SHARED_NAMES):
            shared = deployment_body(flow_id, f"shared-{n}", minutes=thread + 1)
            statuses.append(servers.call(server, "POST", "/deployments/", shared)[0])
        return statuses

    results = at_once(write, 2 * THREADS_PER_SERVER)
    failures = [result for result in results if isinstance(result, Exception)]
    assert not failures, failures
    statuses = Counter(status for result in results for status in result)
    threads = 2 * THREADS_PER_SERVER
    own_names = threads * DEPLOYMENTS_PER_THREAD
    # Each own name is created once; each shared name is created once, then updated.
    assert statuses == {201: own_names + SHARED_NAMES, 200: threads * SHARED_NAMES - SHARED_NAMES}

    rows = servers.database.rows(
        "SELECT d.name, count(s.id) FROM catalog_deployment d "
        "LEFT JOIN catalog_deploymentschedule s ON s.deployment_id = d.id "
        f"WHERE d.flow_id = '{flow_id}' GROUP BY d.id, d.name"
    )
    assert len(rows) == own_names + SHARED_NAMES
    assert len({name for name, _ in rows}) == len(rows)
    assert {count for _, count in rows} == {1}, "every deployment keeps exactly one schedule"

    count_filter = {"flows": {"id": {"any_": [flow_id]}}}
    for server in (0, 1):
        status, count = servers.call(server, "POST", "/deployments/count", count_filter)
        assert (status, count) == (200, own_names + SHARED_NAMES)
