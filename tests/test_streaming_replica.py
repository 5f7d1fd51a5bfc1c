"""The read replicas for real: a PostgreSQL primary and a hot standby made from it with
`pg_basebackup -R`, streaming its WAL, behind gunicorn with `DATABASE_REPLICA_URLS`.

Real lag on one machine: replay is paused on the replica (`pg_wal_replay_pause()`), so
what the primary commits next is not there until replay resumes. A read that misses such
a write was served by the replica; the client that wrote reads it from the primary.

The clusters are the tests' own, made as the `postgres` OS user; the tests run with
`--db=postgres` (skipped on SQLite, like tests/test_faults.py) and are turned off with
`--replica-tests=off`. When the clusters cannot be made, the run fails and says why.
"""

import json
import threading
import time
import uuid
from http.cookiejar import CookieJar
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from django.db import connection  # noqa: F401 (read by the skipif condition)

from catalog.api.middleware import READ_PRIMARY_COOKIE
from tests.servers import (
    Answer,
    PrivatePostgres,
    gunicorn,
    managed,
    private_postgres,
    send,
    server_environment,
    streaming_replica,
    write_key_for,
)

pytestmark = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="runs with --db=postgres: a PostgreSQL primary and its streaming replica",
)

DATABASE = "catalog"
WORKERS = 2
CAUGHT_UP_SECONDS = 30


class Served:
    def __init__(self, url: str, key: str, primary: PrivatePostgres, replica: PrivatePostgres):
        self.url, self.key, self.primary, self.replica = url, key, primary, replica

    def call(self, method: str, path: str, body: dict | None = None, opener=None) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        return send(f"{self.url}{path}", method, data, opener=opener, **headers)

    def flow_on_replica(self, name: str) -> bool:
        query = "SELECT 1 FROM catalog_flow WHERE name = %s"
        with self.replica.connection(DATABASE) as database:
            return bool(database.execute(query, [name]).fetchall())

    def wait_until_replayed(self, name: str) -> None:
        deadline = time.monotonic() + CAUGHT_UP_SECONDS
        while not self.flow_on_replica(name):
            assert time.monotonic() < deadline, f"{name} never reached the replica"
            time.sleep(0.05)

    def replay_paused(self):
        return ReplayPaused(self.replica)


class ReplayPaused:
    """The replica stops applying the primary's WAL inside the block: real lag."""

    def __init__(self, replica: PrivatePostgres):
        self.replica = replica

    def __enter__(self):
        self.replica.rows("SELECT pg_wal_replay_pause()")
        deadline = time.monotonic() + CAUGHT_UP_SECONDS
        while self.replica.rows("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            assert time.monotonic() < deadline, "replay did not pause"
            time.sleep(0.05)

    def __exit__(self, *exc_info):
        self.replica.rows("SELECT pg_wal_replay_resume()")


@pytest.fixture(scope="module")
def served(request, tmp_path_factory):
    if request.config.getoption("--replica-tests") == "off":
        pytest.skip("turned off with --replica-tests=off")
    with clusters_or_a_clear_failure() as (primary, replica):
        primary.create_database(DATABASE)
        env = server_environment(
            DATABASE_URL=primary.url(DATABASE),
            CATALOG_ANONYMOUS_READ="false",
            DATABASE_CONN_MAX_AGE="600",
            CATALOG_REPLICA_RETRY_SECONDS="1",
        )
        managed("migrate", "--noinput", env=env)
        key = write_key_for(env)
        env["DATABASE_REPLICA_URLS"] = replica.url(DATABASE)
        log = tmp_path_factory.mktemp("replica") / "gunicorn.log"
        with gunicorn(env, log, workers=WORKERS) as url:
            yield Served(url, key, primary, replica)


class clusters_or_a_clear_failure:
    """The primary and its replica; a run that cannot make them fails, saying why."""

    def __enter__(self):
        self.primary_block = private_postgres()
        try:
            primary = self.primary_block.__enter__()
            self.replica_block = streaming_replica(primary)
            replica = self.replica_block.__enter__()
        except (RuntimeError, OSError, KeyError) as exc:
            pytest.fail(
                "Could not make a PostgreSQL primary and streaming replica as the `postgres` "
                "OS user (run as root or as postgres, with PostgreSQL 15's programs in "
                "/usr/lib/postgresql/15/bin), or turn these tests off with "
                f"--replica-tests=off. The error: {exc}",
                pytrace=False,
            )
        return primary, replica

    def __exit__(self, *exc_info):
        self.replica_block.__exit__(*exc_info)
        self.primary_block.__exit__(*exc_info)


def create_flow(served: Served, opener=None) -> dict:
    answer = served.call("POST", "/api/flows/", {"name": f"flow-{uuid.uuid4().hex[:8]}"}, opener)
    assert answer.status == 201, answer.body
    return json.loads(answer.body)


def read_flow(served: Served, flow: dict, opener=None) -> Answer:
    return served.call("GET", f"/api/flows/name/{flow['name']}", opener=opener)


def test_reads_are_served_by_the_replica(served):
    with served.replay_paused():
        flow = create_flow(served)
        assert served.primary.rows("SELECT 1")  # the write is committed on the primary
        assert read_flow(served, flow).status == 404
        listed = served.call("POST", "/api/flows/filter", {})
        assert flow["name"] not in {row["name"] for row in json.loads(listed.body)}
    served.wait_until_replayed(flow["name"])
    assert read_flow(served, flow).status == 200


def test_a_client_reads_its_own_write_despite_the_lag(served):
    jar = CookieJar()
    writer = build_opener(HTTPCookieProcessor(jar))
    with served.replay_paused():
        flow = create_flow(served, opener=writer)
        fresh = read_flow(served, flow, opener=writer)
        stale = read_flow(served, flow)
    assert fresh.status == 200 and json.loads(fresh.body)["id"] == flow["id"]
    assert stale.status == 404
    assert READ_PRIMARY_COOKIE in {cookie.name for cookie in jar}


def test_without_the_pin_the_writer_would_read_stale(served):
    with served.replay_paused():
        flow = create_flow(served)  # no cookie jar: the pin is dropped
        assert read_flow(served, flow).status == 404


def test_a_replica_stopped_mid_run_loses_no_request(served):
    flow = create_flow(served)
    served.wait_until_replayed(flow["name"])
    answers: list[tuple[float, str, Answer]] = []
    stop_reading = threading.Event()

    def keep_reading() -> None:
        while not stop_reading.is_set():
            answers.append((time.monotonic(), "by name", read_flow(served, flow)))
            listed = served.call("POST", "/api/flows/filter", {"limit": 5})
            answers.append((time.monotonic(), "filter", listed))

    readers = [threading.Thread(target=keep_reading) for _ in range(WORKERS)]
    for reader in readers:
        reader.start()
    time.sleep(1)
    stopped_at = time.monotonic()
    served.replica.stop()
    time.sleep(3)
    stop_reading.set()
    for reader in readers:
        reader.join()
    try:
        assert sum(at > stopped_at for at, _, _ in answers) > 20
        assert [(kind, answer.status) for _, kind, answer in answers if answer.status != 200] == []
        named = {
            json.loads(answer.body)["name"] for _, kind, answer in answers if kind == "by name"
        }
        assert named == {flow["name"]}
    finally:
        served.replica.start()
