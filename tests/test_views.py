"""The API against bodies captured from a real Prefect 3.9.1 server."""

import json

import pytest
from django.db import connection

from catalog.models import ConcurrencyLimit
from tests.conftest import prefect_file, prefect_json
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    WorkPoolFactory,
)

pytestmark = pytest.mark.django_db

GOLDEN = [
    "20_get_deployment_full.json",
    "21_get_deployment_minimal.json",
    "22_get_deployment_gcl_linked.json",
]
# JSON a user supplies; PostgreSQL's jsonb orders these objects' keys itself.
USER_JSON = {"labels", "parameters", "job_variables", "parameter_openapi_schema", "pull_steps"}


def with_user_json_sorted(value, key=None, inside_user_json=False):
    """The body as nested pairs, order kept except inside user JSON, whose keys are sorted."""
    inside_user_json = inside_user_json or key in USER_JSON
    if isinstance(value, dict):
        pairs = [(k, with_user_json_sorted(v, k, inside_user_json)) for k, v in value.items()]
        return sorted(pairs) if inside_user_json else pairs
    if isinstance(value, list):
        return [with_user_json_sorted(item, None, inside_user_json) for item in value]
    return value


def ordered(body: bytes):
    return with_user_json_sorted(json.loads(body, object_pairs_hook=dict))


def assert_same_body(actual: bytes, expected: bytes) -> None:
    """Byte for byte on SQLite; on PostgreSQL, equal but for jsonb's key order."""
    if connection.vendor == "sqlite":
        assert actual == expected
    else:
        assert ordered(actual) == ordered(expected)


@pytest.mark.parametrize("name", GOLDEN)
def test_it_returns_the_body_prefect_returned(api_client, reference_deployments, name):
    deployment_id = reference_deployments[name]["id"]
    response = api_client.get(f"/api/deployments/{deployment_id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert_same_body(response.content, prefect_file(name).read_bytes())


def test_it_keeps_every_key_in_order_on_every_database(api_client, reference_deployments):
    expected = reference_deployments["20_get_deployment_full.json"]
    body = api_client.get(f"/api/deployments/{expected['id']}").json()
    assert list(body) == list(expected)
    assert [list(s) for s in body["schedules"]] == [list(s) for s in expected["schedules"]]
    assert [list(s["schedule"]) for s in body["schedules"]] == [
        list(s["schedule"]) for s in expected["schedules"]
    ]
    assert list(body["global_concurrency_limit"]) == list(expected["global_concurrency_limit"])
    assert list(body["concurrency_options"]) == list(expected["concurrency_options"])


def test_it_accepts_an_upper_case_id_as_prefect_does(api_client, reference_deployments):
    deployment_id = reference_deployments["20_get_deployment_full.json"]["id"]
    response = api_client.get(f"/api/deployments/{deployment_id.upper()}")
    assert response.status_code == 200
    assert_same_body(
        response.content, prefect_file("27_get_deployment_uppercase_id_200.json").read_bytes()
    )


def test_it_accepts_an_id_without_hyphens(api_client, reference_deployments):
    deployment_id = reference_deployments["21_get_deployment_minimal.json"]["id"]
    response = api_client.get(f"/api/deployments/{deployment_id.replace('-', '')}")
    assert response.status_code == 200
    assert response.json()["id"] == deployment_id


def test_an_unknown_id_is_404_deployment_not_found(api_client):
    response = api_client.get("/api/deployments/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.content == prefect_file("23_get_deployment_missing_404.json").read_bytes()
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "path",
    [
        "/api/deployments/not-a-uuid",
        "/api/deployments/0000000-0000-4000-8000-000000000000",
        "/api/deployments/00000000-0000-4000-8000-00000000000g",
    ],
)
def test_a_malformed_id_is_404_not_found(api_client, path):
    response = api_client.get(path)
    assert response.status_code == 404
    assert response.content == prefect_file("24_get_deployment_malformed_id_404.json").read_bytes()


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/", "/api/deployments/x/y/z"])
def test_any_unknown_api_path_answers_json(api_client, path):
    for method in (api_client.get, api_client.post, api_client.delete):
        response = method(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


def test_a_route_with_the_wrong_trailing_slash_redirects_as_starlette_does(api_client):
    deployment = DeploymentFactory()
    response = api_client.get(f"/api/deployments/{deployment.id}/?x=1")
    assert response.status_code == 307
    assert response["Location"] == f"http://testserver/api/deployments/{deployment.id}?x=1"


def test_a_wrong_method_is_405_naming_the_first_routes_methods_as_starlette_does(api_client):
    deployment = DeploymentFactory()
    response = api_client.put(f"/api/deployments/{deployment.id}", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response["Allow"] == "PATCH"


def test_a_limit_named_filter_is_read_and_deleted_at_filter_as_starlette_routes_it(
    api_client,
):
    other = ConcurrencyLimitFactory(name="other")
    ConcurrencyLimitFactory(name="filter", limit=3)
    read = api_client.get("/api/v2/concurrency_limits/filter")
    assert read.status_code == 200
    assert (read.json()["name"], read.json()["limit"]) == ("filter", 3)
    listed = api_client.post("/api/v2/concurrency_limits/filter", {}, format="json")
    assert [limit["name"] for limit in listed.json()] == ["filter", "other"]
    assert api_client.delete("/api/v2/concurrency_limits/filter").status_code == 204
    assert list(ConcurrencyLimit.objects.values_list("id", flat=True)) == [other.id]
    gone = api_client.delete("/api/v2/concurrency_limits/filter")
    assert (gone.status_code, gone.json()) == (404, {"detail": "Concurrency Limit not found"})


@pytest.mark.parametrize("method", ["PUT", "OPTIONS"])
def test_a_wrong_method_at_filter_is_405_naming_the_parameter_routes_method(api_client, method):
    response = api_client.generic(method, "/api/v2/concurrency_limits/filter")
    assert response.status_code == 405
    assert response["Allow"] == "GET"


def test_a_work_pool_named_filter_is_read_at_filter(api_client):
    missing = api_client.get("/api/work_pools/filter")
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": 'Work pool "filter" not found.'},
    )
    WorkPoolFactory(name="filter")
    assert api_client.get("/api/work_pools/filter").json()["name"] == "filter"
    assert api_client.post("/api/work_pools/filter", {}, format="json").status_code == 200


def test_reading_a_deployment_renders_it_once_then_takes_one_query(
    api_client, django_assert_num_queries
):
    deployment = DeploymentFactory()
    DeploymentScheduleFactory.create_batch(12, deployment=deployment)
    # Kept body? version, deployment with queue, pool and limit, schedules; keep the body.
    with django_assert_num_queries(5):
        first = api_client.get(f"/api/deployments/{deployment.id}")
    with django_assert_num_queries(1):
        again = api_client.get(f"/api/deployments/{deployment.id}")
    assert len(first.json()["schedules"]) == 12
    assert again.content == first.content


def test_reading_a_deployment_with_a_queue_and_limit_takes_one_query_once_kept(
    api_client, reference_deployments, django_assert_num_queries
):
    deployment_id = reference_deployments["20_get_deployment_full.json"]["id"]
    api_client.get(f"/api/deployments/{deployment_id}")
    with django_assert_num_queries(1):
        response = api_client.get(f"/api/deployments/{deployment_id}")
    assert response.json()["work_pool_name"] == "anchor-pool"


def test_schedules_come_newest_first_as_prefect_orders_them(api_client, reference_deployments):
    body = api_client.get(
        f"/api/deployments/{reference_deployments['20_get_deployment_full.json']['id']}"
    ).json()
    assert [s["slug"] for s in body["schedules"]] == [
        "mwf-rrule",
        "first-monday-cron",
        "hourly-interval",
    ]


def test_non_ascii_is_written_raw_and_compact(api_client):
    deployment = DeploymentFactory(name="my👍dep é", description="line\u2028break")
    response = api_client.get(f"/api/deployments/{deployment.id}")
    assert '"name":"my👍dep é"'.encode() in response.content
    assert "\u2028".encode() in response.content
    assert b", " not in response.content.replace(b'"line', b"")


def test_the_labels_contain_the_flow_id(api_client):
    deployment = DeploymentFactory()
    labels = api_client.get(f"/api/deployments/{deployment.id}").json()["labels"]
    assert labels["prefect.flow.id"] == str(deployment.flow_id)


# The client's API version header -------------------------------------------------------


@pytest.mark.parametrize("version", ["0.8.4", "0.8.0", "1.0.0", " 0.9.1"])
def test_a_supported_api_version_is_served(api_client, version):
    deployment = DeploymentFactory()
    response = api_client.get(
        f"/api/deployments/{deployment.id}", HTTP_X_PREFECT_API_VERSION=version
    )
    assert response.status_code == 200


@pytest.mark.parametrize("version", ["abc", "0.8", "1.2.3.4", "x.y.z"])
def test_a_malformed_api_version_is_400(api_client, version):
    response = api_client.get("/api/hello", HTTP_X_PREFECT_API_VERSION=version)
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid X-PREFECT-API-VERSION header format."
        f"Expected header in format 'x.y.z' but received {version}"
    }


def test_a_too_old_api_version_is_400(api_client):
    response = api_client.get(
        "/api/deployments/00000000-0000-4000-8000-000000000000",
        HTTP_X_PREFECT_API_VERSION="0.7.0",
    )
    assert response.status_code == 400
    assert response.content == (
        b'{"detail":"The request specified API version 0.7.0 but this server requires '
        b'version 0.8.0 or higher."}'
    )


@pytest.mark.parametrize("path", ["/api/health", "/api/version", "/api/not-a-route"])
def test_routes_outside_prefects_routers_ignore_the_version(api_client, path):
    response = api_client.get(path, HTTP_X_PREFECT_API_VERSION="abc")
    assert response.status_code != 400


# Service routes ------------------------------------------------------------------------


def test_health_is_true(api_client):
    response = api_client.get("/api/health")
    assert (response.status_code, response.content) == (200, b"true")


def test_ready_reports_the_database_reachable(api_client):
    response = api_client.get("/api/ready")
    assert (response.status_code, response.content) == (200, b'{"message":"OK"}')


def test_the_api_version_is_prefects(api_client):
    assert api_client.get("/api/version").content == b'"0.8.4"'


def test_the_server_version_is_a_3x_string(api_client):
    version = api_client.get("/api/admin/version").json()
    assert isinstance(version, str) and version.split(".")[0] == "3"


def test_hello_waves(api_client):
    assert api_client.get("/api/hello").content == '"👋"'.encode()


def test_the_csrf_token_route_says_protection_is_disabled(api_client):
    response = api_client.get("/api/csrf-token?client=8d0c8e0e-6a1c-4c31-8b2f-0d1d3f1c0f00")
    assert response.status_code == 422
    assert response.content == b'{"detail":"CSRF protection is disabled."}'


def test_the_csrf_token_route_needs_a_client(api_client):
    response = api_client.get("/api/csrf-token")
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {"type": "missing", "loc": ["query", "client"], "msg": "Field required", "input": None}
        ],
        "request_body": None,
    }


def test_the_reference_files_are_the_ones_captured():
    assert prefect_json("ids.json")["full_deployment_id"] == prefect_json(GOLDEN[0])["id"]


def test_the_answer_is_json_whatever_accept_says_as_prefect_answers(api_client):
    deployment = DeploymentFactory()
    response = api_client.get(f"/api/deployments/{deployment.id}", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    flows = api_client.post(
        "/api/flows/filter", "{}", content_type="application/json", HTTP_ACCEPT="text/html"
    )
    assert (flows.status_code, flows["Content-Type"]) == (200, "application/json")
