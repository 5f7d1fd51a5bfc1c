"""Bodies a worker holds in memory (`catalog.rendering.body_memory`): bounded, and never
stale, because on PostgreSQL a version names one body for the database's life."""

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.models import Deployment, DeploymentJson
from catalog.rendering import json_cache
from catalog.rendering.body_memory import BodyMemories, BodyMemory
from tests.factories import DeploymentFactory


def test_a_page_s_bodies_are_held_by_version_and_found_again():
    memory = BodyMemory(capacity=1000)
    memory.remember("page", [1, 2, None], [(1, b"one"), (2, b"two")])
    assert memory.held_for("page") == {1: b"one", 2: b"two"}
    assert memory.held_for("another page") == {}


def test_a_body_held_for_one_page_serves_another_page_with_its_version():
    memory = BodyMemory(capacity=1000)
    memory.remember("first", [1, 2], [(1, b"one"), (2, b"two")])
    memory.remember("second", [2, 3], [(3, b"three")])
    assert memory.held_for("second") == {2: b"two", 3: b"three"}


def test_the_least_recently_used_bodies_go_first_past_the_capacity():
    memory = BodyMemory(capacity=10)
    memory.remember("a", [1, 2], [(1, b"1111"), (2, b"2222")])
    assert memory.held_for("a") == {1: b"1111", 2: b"2222"}
    memory.remember("b", [3], [(3, b"3333")])
    assert memory.size == 8 and set(memory.bodies) == {2, 3}
    assert memory.held_for("a") == {2: b"2222"}


def test_a_body_larger_than_the_whole_memory_is_not_held():
    memory = BodyMemory(capacity=4)
    memory.remember("a", [1, 2], [(1, b"12345"), (2, b"12")])
    assert memory.held_for("a") == {2: b"12"} and memory.size == 2


def test_a_body_sent_again_replaces_itself_and_counts_once():
    memory = BodyMemory(capacity=100)
    memory.remember("a", [1], [(1, b"1234")])
    memory.remember("a", [1], [(1, b"1234")])
    assert memory.size == 4 and len(memory.bodies) == 1


def test_pages_past_the_page_capacity_are_forgotten_oldest_first():
    memory = BodyMemory(capacity=100, pages=2)
    for page in ("a", "b", "c"):
        memory.remember(page, [1], [(1, b"x")])
    assert list(memory.pages) == ["b", "c"]
    assert memory.held_for("a") == {}


def test_a_memory_of_no_capacity_holds_nothing():
    memory = BodyMemory(capacity=0)
    memory.remember("a", [1], [(1, b"x")])
    assert memory.held_for("a") == {} and memory.size == 0
    assert not memory.pages


def test_each_database_has_a_memory_of_its_own():
    """The same page query and the same version on two databases are two bodies."""
    memories = BodyMemories(capacity=100)
    memories.of(("host", "5432", "one")).remember("page", [7], [(7, b"one")])
    memories.of(("host", "5432", "two")).remember("page", [7], [(7, b"two")])
    assert memories.of(("host", "5432", "one")).held_for("page") == {7: b"one"}
    assert memories.of(("host", "5432", "two")).held_for("page") == {7: b"two"}
    assert memories.of(("other", "5432", "one")).held_for("page") == {}


# On PostgreSQL -------------------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="bodies are held in memory on PostgreSQL"
)


def filtered(api_client) -> list[dict]:
    response = api_client.post("/api/deployments/filter", "{}", content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def spoil_kept_bodies() -> None:
    """Writes over every kept body behind the triggers' back, its version unchanged: a
    reading that still shows the true bodies did not take them from the database."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_deploymentjson SET body = '{\"spoiled\": true}'")


def versions() -> list[int]:
    return list(DeploymentJson.objects.values_list("version", flat=True))


@pytest.fixture
def memory(monkeypatch) -> BodyMemory:
    """A memory of this test's own, so that no other test's pages are in it."""
    fresh = BodyMemories(capacity=1024 * 1024)
    monkeypatch.setattr(json_cache, "MEMORIES", fresh)
    return fresh.of(json_cache.database_of(connection))


@postgres_only
@pytest.mark.django_db
def test_a_page_read_again_takes_no_body_from_the_database(
    api_client, memory, django_assert_num_queries
):
    DeploymentFactory.create_batch(3)
    first = filtered(api_client)  # renders and keeps the bodies
    assert filtered(api_client) == first  # takes the kept bodies, holds them
    assert len(memory.bodies) == 3
    spoil_kept_bodies()
    with django_assert_num_queries(1):
        assert filtered(api_client) == first


@postgres_only
@pytest.mark.django_db
def test_without_memory_a_page_takes_every_body_from_the_database(api_client, monkeypatch):
    monkeypatch.setattr(json_cache, "MEMORIES", BodyMemories(capacity=0))
    DeploymentFactory.create_batch(2)
    filtered(api_client)
    filtered(api_client)
    spoil_kept_bodies()
    assert filtered(api_client) == [{"spoiled": True}] * 2


@postgres_only
@pytest.mark.django_db
def test_a_write_is_read_at_once_on_a_page_held_in_memory(api_client, memory):
    deployments = DeploymentFactory.create_batch(3)
    filtered(api_client)
    held = filtered(api_client)
    changed = deployments[1]
    response = api_client.patch(
        f"/api/deployments/{changed.id}", {"description": "changed"}, format="json"
    )
    assert response.status_code == 204, response.content
    after = filtered(api_client)
    assert [body["description"] for body in after if body["id"] == str(changed.id)] == ["changed"]
    assert [body for body in after if body["id"] != str(changed.id)] == [
        body for body in held if body["id"] != str(changed.id)
    ]


@postgres_only
@pytest.mark.django_db
def test_a_deployment_deleted_and_made_again_with_its_id_is_not_served_from_memory(
    api_client, memory
):
    original = DeploymentFactory(description="before")
    filtered(api_client)
    assert filtered(api_client)[0]["description"] == "before"
    kept = Deployment.objects.get(pk=original.pk)
    Deployment.objects.filter(pk=original.pk).delete()
    kept.description = "made again"
    kept.save(force_insert=True)
    assert filtered(api_client)[0]["description"] == "made again"


@postgres_only
@pytest.mark.django_db
def test_every_version_is_drawn_once_even_across_a_deletion_and_a_migrate(api_client):
    deployments = DeploymentFactory.create_batch(4)
    before = versions()
    assert len(set(before)) == 4
    kept = Deployment.objects.get(pk=deployments[0].pk)
    Deployment.objects.filter(pk=kept.pk).delete()
    kept.save(force_insert=True)
    Deployment.objects.filter(pk=deployments[1].pk).update(description="changed")
    after_writes = versions()
    assert len(set(after_writes)) == 4 and len(set(before) | set(after_writes)) == 6
    call_command("migrate", verbosity=0)
    after_migrate = versions()
    assert len(set(after_migrate)) == 4
    assert not set(after_migrate) & (set(before) | set(after_writes))
