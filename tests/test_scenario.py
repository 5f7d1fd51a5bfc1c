"""Every route against a real Prefect 3.9.1 server, step by step.

`tests/data/prefect-scenario/` holds 205 requests and the answers a real Prefect server
gave them, starting from an empty database (see its README). The whole scenario is
replayed here against this server, in order, binding ids from earlier answers as the
capture did; each step then compares status and whole body, key order included, with
ids and timestamps replaced by placeholders (they differ on every run).
"""

import json
import re
from pathlib import Path

import pytest
from django.db import connection

from tests.replay import body_shape, expected_location, masked, replay_steps, scenario_capture

# The replay opens its own transaction; the marker makes pytest-django set up the database.
pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data" / "prefect-scenario"
STEPS, CAPTURED, REFUSALS = scenario_capture(DATA)

# Where this server means to answer differently from Prefect, and why.
DELIBERATE_DIFFERENCES = {
    "dep_get_collection_405": (
        "GET /api/deployments/ is the plain REST listing the catalog adds for consumers "
        "who do not speak Prefect's filter bodies; Prefect has no GET there (405)."
    ),
    "gcl_read_shared_limit_after_linked_deployment_delete_404": (
        "Deleting a deployment deletes only its own `deployment:<id>` limit; Prefect also "
        "deletes a shared global limit the deployment was linked to, which other "
        "deployments may still use. Here the shared limit survives (200)."
    ),
    "gcl_filter_limit_offset": (
        "The second limit by name is the surviving shared limit `scenario-gcl` here."
    ),
}


# Prefect's own answer differs by database here: on PostgreSQL it recognises the unique
# constraint's error text and names the slug rule (the capture ran on SQLite).
ON_POSTGRESQL = {
    "sched_create_duplicate_slug_409": (
        '{"detail":"Schedule slugs must be unique within a deployment."}'
    ),
}

# Steps whose answers follow from a deliberate difference above: the shared limit
# `scenario-gcl` still exists here, so listings of limits show it.
SHARED_LIMIT_KEPT = {"gcl_filter_empty"}


def without_shared_limit(text: str) -> str:
    limits = [limit for limit in json.loads(text) if limit["name"] != "scenario-gcl"]
    return json.dumps(limits, ensure_ascii=False, separators=(",", ":"))


# Reads that Prefect refused and the catalog answers (see DELIBERATE_DIFFERENCES).
ANSWERED_HERE = {
    "dep_get_collection_405",
    "gcl_read_shared_limit_after_linked_deployment_delete_404",
}


@pytest.fixture(scope="module")
def replay(django_db_setup, django_db_blocker) -> dict[str, tuple]:
    with django_db_blocker.unblock():
        return replay_steps(STEPS, REFUSALS)


SAME_AS_PREFECT = [step for step in CAPTURED if step["case"] not in DELIBERATE_DIFFERENCES]


@pytest.mark.parametrize(
    "captured", SAME_AS_PREFECT, ids=[step["case"] for step in SAME_AS_PREFECT]
)
def test_the_step_answers_as_prefect_did(replay, captured):
    status, headers, text, _ = replay[captured["case"]]
    if captured["case"] in SHARED_LIMIT_KEPT:
        text = without_shared_limit(text)
    assert status == captured["status"], text[:2000]
    expected = captured["response"]
    if connection.vendor == "postgresql":
        expected = ON_POSTGRESQL.get(captured["case"], expected)
    assert body_shape(text) == body_shape(expected)
    if "allow" in captured["headers"]:
        assert headers["allow"] == captured["headers"]["allow"]
    if "location" in captured["headers"]:
        location = re.sub(r"^https?://[^/]+", "", headers["location"])
        assert masked(location) == masked(expected_location(captured))


def test_listing_deployments_with_get_is_the_catalogs_rest_listing(replay):
    status, _, text, _ = replay["dep_get_collection_405"]
    assert status == 200
    assert {"count", "next", "previous", "results"} <= set(json.loads(text))


def test_a_shared_limit_survives_its_linked_deployments_deletion(replay):
    status, _, text, _ = replay["gcl_read_shared_limit_after_linked_deployment_delete_404"]
    assert status == 200
    assert json.loads(text)["name"] == "scenario-gcl"


def test_the_second_limit_by_name_is_the_surviving_shared_limit(replay):
    status, _, text, _ = replay["gcl_filter_limit_offset"]
    assert status == 200
    assert [limit["name"] for limit in json.loads(text)] == ["scenario-gcl"]


@pytest.mark.parametrize("case", sorted(REFUSALS - ANSWERED_HERE))
def test_a_refused_request_changes_nothing(replay, case):
    status, _, _, unchanged = replay[case]
    assert status >= 300
    assert unchanged


@pytest.mark.parametrize("case", sorted(ANSWERED_HERE))
def test_the_reads_answered_here_change_nothing(replay, case):
    assert replay[case][3]
