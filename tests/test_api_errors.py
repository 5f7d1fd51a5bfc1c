"""Bad input on the write routes: a clear 4xx in Prefect's shape, and nothing stored.

The scenario replay (test_scenario.py) covers every refusal Prefect itself makes; these
are the inputs where Prefect's own server answers 500 or stores what PostgreSQL cannot.
"""

import json

import pytest
from django.db import IntegrityError, OperationalError

from catalog.api.middleware import PrefectApiMiddleware
from catalog.models import Deployment, Flow
from catalog.services.errors import INTEGRITY_CONFLICT
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
)
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db


def post(api_client, path: str, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    content_type = extra.pop("content_type", "application/json")
    return api_client.post(path, data, content_type=content_type, **extra)


def patch(api_client, path: str, body):
    return api_client.patch(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def unchanged():
    """Asserts, after the test, that the database is exactly as the test found it."""
    FlowFactory(name="existing")
    before = database_fingerprint()
    yield
    assert database_fingerprint() == before


@pytest.mark.parametrize("name", ["a/b", "50%", "x&y", "<b>", "a>b"])
def test_a_deployment_name_prefect_cannot_store_is_422_not_500(api_client, unchanged, name):
    flow = Flow.objects.get(name="existing")
    response = post(api_client, "/api/deployments/", {"name": name, "flow_id": str(flow.id)})
    assert response.status_code == 422
    assert "may not contain" in response.json()["detail"]


def test_a_work_queue_name_with_a_banned_character_is_a_422_naming_that_field(
    api_client, unchanged
):
    flow = Flow.objects.get(name="existing")
    body = {"name": "new", "flow_id": str(flow.id), "work_queue_name": "50%"}
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    (error,) = response.json()["exception_detail"]
    assert error["loc"] == ["body", "work_queue_name"]
    assert error["msg"] == "Name may not contain %."


def test_a_name_longer_than_255_characters_is_422(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    response = post(api_client, "/api/deployments/", {"name": "n" * 256, "flow_id": str(flow.id)})
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == "string_too_long"


@pytest.mark.parametrize("path", ["/api/deployments/", "/api/flows/"])
def test_more_tags_than_a_row_holds_is_422(api_client, unchanged, path):
    flow = Flow.objects.get(name="existing")
    tags = [f"tag-{n}" for n in range(10_000)]
    response = post(api_client, path, {"name": "tagged", "flow_id": str(flow.id), "tags": tags})
    assert response.status_code == 422
    error = response.json()["exception_detail"][0]
    assert (error["type"], error["loc"]) == ("too_long", ["body", "tags"])
    assert error["msg"] == "List should have at most 100 items after validation, not 10000"


def test_a_tag_longer_than_255_characters_is_422(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    tags = ["short", "t" * 256]
    response = post(
        api_client, "/api/deployments/", {"name": "x", "flow_id": str(flow.id), "tags": tags}
    )
    assert response.status_code == 422
    error = response.json()["exception_detail"][0]
    assert (error["type"], error["loc"]) == ("string_too_long", ["body", "tags", 1])


def test_patching_in_too_many_tags_is_422_and_changes_nothing(api_client):
    deployment = DeploymentFactory(tags=["kept"])
    before = database_fingerprint()
    tags = [f"tag-{n}" for n in range(101)]
    response = patch(api_client, f"/api/deployments/{deployment.id}", {"tags": tags})
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == "too_long"
    assert database_fingerprint() == before


def test_a_limit_beyond_a_32_bit_column_is_422(api_client, unchanged):
    response = post(api_client, "/api/v2/concurrency_limits/", {"name": "big", "limit": 2**40})
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == "less_than_equal"


def test_a_nul_character_is_refused_on_every_database(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    body = json.dumps({"name": "nul\u0000name", "flow_id": str(flow.id)})
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["ctx"] == {
        "error": "NUL characters are not allowed"
    }


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff"])
def test_a_lone_surrogate_escape_is_refused_on_every_database(api_client, unchanged, escape):
    flow = Flow.objects.get(name="existing")
    body = json.dumps({"name": "ok", "flow_id": str(flow.id), "parameters": {"x": "a@b"}})
    body = body.replace("@", escape)
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    error = response.json()["exception_detail"][0]
    assert error["ctx"]["error"].startswith("lone surrogate characters are not allowed")
    assert error["loc"] == ["body", body.index(escape)]


def test_a_surrogate_pair_escape_is_text_like_any_other(api_client):
    flow = FlowFactory()
    body = json.dumps({"name": "emoji", "flow_id": str(flow.id), "description": "\U0001f600"})
    assert "\\ud83d\\ude00" in body
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 201
    assert response.json()["description"] == "\U0001f600"


def test_invalid_utf8_is_422(api_client, unchanged):
    response = post(api_client, "/api/flows/", b'{"name": "\xff\xfe"}')
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == "json_invalid"


def test_deeply_nested_json_is_422(api_client, unchanged):
    response = post(api_client, "/api/flows/", "[" * 100_000 + "]" * 100_000)
    assert response.status_code == 422


def test_a_body_sent_as_text_is_read_as_json_as_prefect_reads_it(api_client):
    response = post(api_client, "/api/flows/", '{"name": "plain"}', content_type="text/plain")
    assert response.status_code == 201
    assert Flow.objects.filter(name="plain").exists()


def test_a_body_that_is_not_json_is_422_with_the_raw_text_echoed(api_client, unchanged):
    response = post(api_client, "/api/flows/", "{not json")
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {
                "type": "json_invalid",
                "loc": ["body", 1],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": "Expecting property name enclosed in double quotes"},
            }
        ],
        "request_body": "{not json",
    }


def test_a_missing_body_is_422(api_client, unchanged):
    response = api_client.post("/api/deployments/")
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["loc"] == ["body"]


def test_patching_onto_an_unknown_work_pool_is_404_not_500(api_client):
    deployment = DeploymentFactory()
    before = database_fingerprint()
    response = patch(api_client, f"/api/deployments/{deployment.id}", {"work_pool_name": "nope"})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": 'Work pool "nope" not found.'},
    )
    assert database_fingerprint() == before


def test_a_slug_rule_refusal_in_a_patch_changes_nothing(api_client):
    schedule = DeploymentScheduleFactory(slug="hourly")
    deployment = schedule.deployment
    before = database_fingerprint()
    response = patch(
        api_client,
        f"/api/deployments/{deployment.id}",
        {"description": "x", "schedules": [{"schedule": {"cron": "* * * * *"}}]},
    )
    assert response.status_code == 422
    assert database_fingerprint() == before


def test_renaming_a_schedule_onto_a_taken_slug_changes_nothing(api_client):
    first = DeploymentScheduleFactory(slug="a")
    DeploymentScheduleFactory(deployment=first.deployment, slug="b")
    before = database_fingerprint()
    response = patch(
        api_client,
        f"/api/deployments/{first.deployment_id}",
        {"schedules": [{"slug": "b", "replaces": "a"}]},
    )
    assert response.status_code == 422
    assert "already exists" in response.json()["detail"]
    assert database_fingerprint() == before


def test_a_schedule_patch_onto_a_taken_slug_is_409_and_changes_nothing(api_client):
    first = DeploymentScheduleFactory(slug="a")
    DeploymentScheduleFactory(deployment=first.deployment, slug="b")
    before = database_fingerprint()
    response = patch(
        api_client, f"/api/deployments/{first.deployment_id}/schedules/{first.id}", {"slug": "b"}
    )
    assert response.status_code == 409
    assert database_fingerprint() == before


def test_a_cron_that_never_fires_is_422(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    body = {
        "name": "x",
        "flow_id": str(flow.id),
        "schedules": [{"schedule": {"cron": "0 0 30 2 *"}}],
    }
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    messages = [error["msg"] for error in response.json()["exception_detail"]]
    assert 'Value error, Cron expression never fires: "0 0 30 2 *"' in messages


def test_an_rrule_zone_outside_the_iana_list_is_422(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    schedule = {"rrule": "FREQ=DAILY", "timezone": "xxEurope/Parisxx"}
    body = {"name": "x", "flow_id": str(flow.id), "schedules": [{"schedule": schedule}]}
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422


def test_unknown_flow_is_409_with_prefects_integrity_message(api_client, unchanged):
    body = {"name": "x", "flow_id": "00000000-0000-4000-8000-000000000000"}
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Data integrity conflict.")
    assert not Deployment.objects.exists()


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (IntegrityError("duplicate key"), 409, {"detail": INTEGRITY_CONFLICT}),
        (OperationalError("database is locked"), 503, {"exception_message": "Service Unavailable"}),
        (RuntimeError("bug"), 500, {"exception_message": "Internal Server Error"}),
    ],
)
def test_an_escaped_error_gets_prefects_answer_for_it(rf, error, status, body):
    middleware = PrefectApiMiddleware(lambda request: None)
    response = middleware.process_exception(rf.get("/api/deployments/filter"), error)
    assert (response.status_code, json.loads(response.content)) == (status, body)


def test_an_error_outside_the_api_is_left_to_django(rf):
    middleware = PrefectApiMiddleware(lambda request: None)
    assert middleware.process_exception(rf.get("/admin/"), RuntimeError("bug")) is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/deployments/filter", {"offset": 2**66}),
        ("/api/flows/filter", {"offset": 2**63}),
        ("/api/variables/filter", {"offset": 77497459935323242496}),
        ("/api/work_pools/filter", {"offset": 2**64}),
        ("/api/v2/concurrency_limits/filter", {"offset": 2**64}),
        ("/api/deployments/paginate", {"page": 2**62}),
        ("/api/flows/paginate", {"page": 2**62}),
    ],
)
def test_an_offset_beyond_64_bits_is_422_not_a_database_error(api_client, path, body):
    response = post(api_client, path, body)
    assert response.status_code == 422, response.content
    assert response.json()["exception_detail"][0]["type"] == "less_than_equal"


@pytest.mark.parametrize("rate", ["Infinity", "-Infinity", "NaN"])
def test_a_rate_that_is_not_a_finite_number_is_422_naming_it(api_client, rate):
    limit = ConcurrencyLimitFactory()
    before = database_fingerprint()
    response = api_client.patch(
        f"/api/v2/concurrency_limits/{limit.id}",
        f'{{"slot_decay_per_second": {rate}}}',
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert [error["loc"] for error in body["exception_detail"]] == [
        ["body", "slot_decay_per_second"]
    ]
    # JSON text cannot hold the number sent; the echo writes it as null, as orjson does.
    assert body["request_body"] == {"slot_decay_per_second": None}
    assert database_fingerprint() == before


def test_a_nul_character_is_refused_at_its_field(api_client, unchanged):
    flow = Flow.objects.get(name="existing")
    body = json.dumps({"name": "ok", "flow_id": str(flow.id), "description": "a\u0000b"})
    response = post(api_client, "/api/deployments/", body)
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["loc"] == ["body", "description"]
