"""The read replica router: its rules in process, then for real with two databases of the
suite's backend, a primary and a replica that is a copy of it and receives nothing more
(a replica whose lag never ends), so every answer shows which database it came from."""

import json
import time
from dataclasses import dataclass
from http.cookiejar import CookieJar
from urllib.request import HTTPCookieProcessor, build_opener

import pytest
from django.db import transaction
from django.test import RequestFactory
from django.urls import resolve

from catalog.api.middleware import (
    READ_PRIMARY_COOKIE,
    may_read_from_a_replica,
    pinned_to_primary,
)
from catalog.models import Flow
from catalog.routers import ReadReplicaRouter, read_from_a_replica, request_databases
from tests.servers import (
    ScratchDatabase,
    gunicorn,
    managed,
    scratch_database,
    send,
    server_environment,
    write_key_for,
)

router = ReadReplicaRouter()


@pytest.fixture
def one_replica(settings):
    settings.CATALOG_READ_REPLICAS = ["replica_1"]


# The rules -----------------------------------------------------------------------------


def test_reads_outside_a_request_go_to_the_primary(one_replica):
    assert router.db_for_read(Flow) == "default"


def test_a_request_the_middleware_lets_read_from_a_replica_does(one_replica):
    with request_databases():
        read_from_a_replica()
        assert router.db_for_read(Flow) == "replica_1"


def test_a_request_reads_from_the_primary_unless_let(one_replica):
    with request_databases():
        assert router.db_for_read(Flow) == "default"


def test_writes_go_to_the_primary_and_so_do_the_reads_after_them(one_replica):
    with request_databases():
        read_from_a_replica()
        assert router.db_for_write(Flow) == "default"
        assert router.db_for_read(Flow) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary(one_replica):
    with request_databases():
        read_from_a_replica()
        with transaction.atomic():
            assert router.db_for_read(Flow) == "default"
        assert router.db_for_read(Flow) == "replica_1"


@pytest.mark.django_db(transaction=True)
def test_a_write_on_a_database_named_outright_leaves_the_reads_on_the_replica(one_replica):
    with request_databases():
        read_from_a_replica()
        Flow.objects.using("default").filter(name="bookkeeping").update(tags=[])
        assert router.db_for_read(Flow) == "replica_1"


def test_without_replicas_every_read_goes_to_the_primary():
    with request_databases():
        read_from_a_replica()
        assert router.db_for_read(Flow) == "default"


def test_migrations_run_on_the_primary_only(one_replica):
    assert router.allow_migrate("default", "catalog")
    assert not router.allow_migrate("replica_1", "catalog")


def routed(method: str, path: str):
    request = RequestFactory().generic(method, path)
    request.resolver_match = resolve(path)
    return request


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/deployments/"),
        ("HEAD", "/api/flows/name/etl"),
        ("POST", "/api/deployments/filter"),
        ("POST", "/api/deployments/count"),
        ("POST", "/api/flows/paginate"),
        ("POST", "/api/variables/filter"),
    ],
)
def test_api_reads_may_read_from_a_replica(method, path):
    assert may_read_from_a_replica(routed(method, path))


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/api/deployments/"),
        ("POST", "/api/deployments/get_scheduled_flow_runs"),
        ("POST", "/api/deployments/bulk_delete"),
        ("PATCH", "/api/flows/00000000-0000-0000-0000-000000000000"),
        ("DELETE", "/api/variables/name/x"),
        ("GET", "/admin/catalog/deployment/"),
    ],
)
def test_writes_and_the_admin_read_from_the_primary(method, path):
    assert not may_read_from_a_replica(routed(method, path))


def test_a_client_stays_on_the_primary_until_its_pin_expires():
    request = RequestFactory().get("/api/deployments/")
    request.COOKIES[READ_PRIMARY_COOKIE] = str(int(time.time()) + 5)
    assert pinned_to_primary(request)
    request.COOKIES[READ_PRIMARY_COOKIE] = str(int(time.time()) - 1)
    assert not pinned_to_primary(request)


@pytest.mark.django_db
def test_an_answer_to_a_write_pins_the_client_to_the_primary(api_client, one_replica):
    response = api_client.post("/api/flows/", {"name": "pinned"}, format="json")
    cookie = response.cookies[READ_PRIMARY_COOKIE]
    assert (cookie["max-age"], cookie["httponly"]) == (10, True)


@pytest.mark.django_db
def test_an_answer_to_a_read_pins_nothing(client, one_replica):
    assert READ_PRIMARY_COOKIE not in client.get("/api/deployments/").cookies


# Two real databases --------------------------------------------------------------------


@dataclass
class Replicated:
    url: str
    primary: ScratchDatabase
    replica: ScratchDatabase
    replica_tables_after_migrate: set[str]
    key: str


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """Gunicorn on a primary and one replica, migrated as a deploy migrates; the replica
    starts as a copy of the primary, and the copy receives nothing more."""
    directory = tmp_path_factory.mktemp("replicated")
    primary = scratch_database("primary", directory)
    replica = scratch_database("replica", directory)
    env = server_environment(DATABASE_URL=primary.url, DATABASE_REPLICA_URLS=replica.url)
    managed("migrate", "--noinput", env=env)
    managed("migrate", "--noinput", "--database", "replica_1", env=env)
    replica_tables = replica.table_names()
    key = write_key_for(env)
    replica.copy_from(primary)
    try:
        with gunicorn(env, directory / "gunicorn.log") as url:
            yield Replicated(url, primary, replica, replica_tables, key)
    finally:
        primary.drop()
        replica.drop()


def post_flow(replicated: Replicated, name: str, opener=None):
    body = json.dumps({"name": name}).encode()
    return send(
        f"{replicated.url}/api/flows/",
        "POST",
        body,
        opener,
        Content_Type="application/json",
        Authorization=f"Bearer {replicated.key}",
    )


def flow_names(database: ScratchDatabase) -> set[str]:
    return {name for (name,) in database.rows("SELECT name FROM catalog_flow")}


def test_migrate_leaves_the_replica_alone(replicated):
    assert "catalog_deployment" in replicated.primary.table_names()
    assert not {t for t in replicated.replica_tables_after_migrate if t.startswith("catalog_")}


def test_api_writes_go_to_the_primary(replicated):
    assert post_flow(replicated, "written-flow").status == 201
    assert "written-flow" in flow_names(replicated.primary)
    assert "written-flow" not in flow_names(replicated.replica)


def test_api_reads_go_to_the_replica(replicated):
    replicated.replica.execute(
        "INSERT INTO catalog_flow (id, created, updated, name, tags, labels) VALUES "
        "('5b1f0e2c9d7a4c35a1e86f0b3c2d4e5f', '2025-01-01 00:00:00', '2025-01-01 00:00:00', "
        "'only-on-the-replica', '[]', '{}')"
    )
    answer = send(f"{replicated.url}/api/flows/name/only-on-the-replica")
    assert (answer.status, json.loads(answer.body)["id"]) == (
        200,
        "5b1f0e2c-9d7a-4c35-a1e8-6f0b3c2d4e5f",
    )


def test_a_read_right_after_a_write_can_miss_it_on_a_lagging_replica(replicated):
    post_flow(replicated, "lagging-flow")
    assert send(f"{replicated.url}/api/flows/name/lagging-flow").status == 404


def test_prefects_read_only_posts_read_from_the_replica(replicated):
    post_flow(replicated, "unreplicated-flow")
    answer = send(
        f"{replicated.url}/api/flows/filter", "POST", b"{}", Content_Type="application/json"
    )
    assert {flow["name"] for flow in json.loads(answer.body)} == flow_names(replicated.replica)


def test_a_client_reads_its_own_writes_from_the_primary(replicated):
    client = build_opener(HTTPCookieProcessor(CookieJar()))
    answer = post_flow(replicated, "my-flow", opener=client)
    assert READ_PRIMARY_COOKIE in answer.headers["Set-Cookie"]
    assert send(f"{replicated.url}/api/flows/name/my-flow", opener=client).status == 200
    assert send(f"{replicated.url}/api/flows/name/my-flow").status == 404


def test_a_write_request_reads_from_the_primary_from_the_start(replicated):
    flow = json.loads(post_flow(replicated, "patched-flow").body)
    body = json.dumps({"tags": ["patched"]}).encode()
    answer = send(
        f"{replicated.url}/api/flows/{flow['id']}",
        "PATCH",
        body,
        Content_Type="application/json",
        Authorization=f"Bearer {replicated.key}",
    )
    assert answer.status == 204
