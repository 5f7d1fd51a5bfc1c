"""Filter patterns and API parameters: every text and list a read takes is bounded, a bad
number is a clear 4xx, and no answer carries SQL (README, "Security").

The budgets are the production defaults (`CATALOG_MAX_PATTERN_LENGTH`,
`CATALOG_MAX_FILTER_VALUES`); a request just past one is refused before any query runs.
"""

import json
import re
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.db import DataError, connection, transaction
from django.test import RequestFactory

from catalog.api.middleware import PrefectApiMiddleware
from catalog.models import Deployment, DeploymentStatus
from catalog.services.errors import INTEGRITY_CONFLICT, VALUE_REFUSED
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    VariableFactory,
    WorkPoolFactory,
    WorkQueueFactory,
)
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

PATTERN_BUDGET = 255
VALUES_BUDGET = 250
HUGE_DIGITS = "9" * 5000


def post(client, path: str, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(path, data, content_type="application/json")


def test_it_uses_the_production_budgets():
    assert settings.CATALOG_MAX_PATTERN_LENGTH == PATTERN_BUDGET
    assert settings.CATALOG_MAX_FILTER_VALUES == VALUES_BUDGET


@pytest.fixture
def unchanged():
    """Asserts, after the test, that the database is exactly as the test found it."""
    before = database_fingerprint()
    yield
    assert database_fingerprint() == before


# like_ patterns and other filter text ------------------------------------------------

PATTERN_FIELDS = [
    ("/api/deployments/filter", ["deployments", "name", "like_"]),
    ("/api/deployments/count", ["deployments", "name", "like_"]),
    ("/api/deployments/paginate", ["deployments", "name", "like_"]),
    ("/api/deployments/filter", ["deployments", "flow_or_deployment_name", "like_"]),
    ("/api/deployments/filter", ["flows", "name", "like_"]),
    ("/api/flows/filter", ["flows", "name", "like_"]),
    ("/api/flows/count", ["deployments", "name", "like_"]),
    ("/api/flows/paginate", ["flows", "name", "like_"]),
    ("/api/variables/filter", ["variables", "name", "like_"]),
    ("/api/variables/count", ["variables", "name", "like_"]),
]


def nested_body(path: list, value) -> dict:
    body = value
    for key in reversed(path):
        body = {key: body}
    return body


@pytest.mark.parametrize(("route", "path"), PATTERN_FIELDS)
def test_it_takes_a_pattern_as_long_as_the_budget(api_client, route, path):
    response = post(api_client, route, nested_body(path, "a" * PATTERN_BUDGET))
    assert response.status_code == 200


@pytest.mark.parametrize(("route", "path"), PATTERN_FIELDS)
def test_it_refuses_a_pattern_past_the_budget_before_any_query(
    api_client, django_assert_num_queries, route, path
):
    pattern = "a" * (PATTERN_BUDGET + 1)
    body = nested_body(path, pattern)
    with django_assert_num_queries(0):
        response = post(api_client, route, body)
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {
                "type": "string_too_long",
                "loc": ["body", *path],
                "msg": "String should have at most 255 characters",
                "input": pattern,
                "ctx": {"max_length": 255},
            }
        ],
        "request_body": body,
    }


def test_a_pattern_past_sqlites_own_limit_is_a_422_not_a_503(api_client):
    body = {"deployments": {"name": {"like_": "a" * 60_000}}}
    response = post(api_client, "/api/deployments/filter", body)
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == "string_too_long"


@pytest.mark.parametrize(
    ("route", "path"),
    [
        ("/api/deployments/filter", ["deployments", "name", "any_"]),
        ("/api/deployments/filter", ["deployments", "tags", "all_"]),
        ("/api/deployments/filter", ["deployments", "tags", "any_"]),
        ("/api/deployments/filter", ["deployments", "work_queue_name", "any_"]),
        ("/api/deployments/filter", ["work_pools", "name", "any_"]),
        ("/api/deployments/filter", ["work_pools", "type", "any_"]),
        ("/api/deployments/filter", ["work_pool_queues", "name", "startswith_"]),
        ("/api/flows/filter", ["flows", "tags", "all_"]),
        ("/api/variables/filter", ["variables", "tags", "all_"]),
        ("/api/work_pools/filter", ["work_pools", "name", "any_"]),
    ],
)
def test_it_bounds_each_text_of_a_filter_list(api_client, route, path):
    at_budget = post(api_client, route, nested_body(path, ["a" * PATTERN_BUDGET]))
    past = post(api_client, route, nested_body(path, ["b", "a" * (PATTERN_BUDGET + 1)]))
    assert at_budget.status_code == 200
    assert past.status_code == 422
    [error] = past.json()["exception_detail"]
    assert (error["type"], error["loc"]) == ("string_too_long", ["body", *path, 1])


def test_it_bounds_a_queue_prefix(api_client):
    pool = WorkPoolFactory(name="pool")
    route = f"/api/work_pools/{pool.name}/queues/filter"
    path = ["work_queues", "name", "startswith_"]
    assert post(api_client, route, nested_body(path, ["q" * PATTERN_BUDGET])).status_code == 200
    past = post(api_client, route, nested_body(path, ["q" * (PATTERN_BUDGET + 1)]))
    assert past.status_code == 422
    assert past.json()["exception_detail"][0]["loc"] == ["body", *path, 0]


def test_wildcards_keep_prefects_meaning(api_client):
    for name in ["abc", "a-long-c", "xbz"]:
        DeploymentFactory(name=name)

    def names(pattern: str) -> list[str]:
        body = {"deployments": {"name": {"like_": pattern}}}
        return [item["name"] for item in post(api_client, "/api/deployments/filter", body).json()]

    assert names("a%c") == ["a-long-c", "abc"]
    assert names("_b_") == ["abc", "xbz"]
    assert names("B") == ["abc", "xbz"]


# Lists of values ------------------------------------------------------------------------

LIST_FIELDS = [
    ("/api/deployments/filter", ["deployments", "id", "any_"], uuid.uuid4),
    ("/api/deployments/count", ["deployments", "id", "not_any_"], uuid.uuid4),
    ("/api/deployments/paginate", ["deployments", "tags", "any_"], lambda: "tag"),
    ("/api/deployments/filter", ["flows", "id", "any_"], uuid.uuid4),
    ("/api/deployments/filter", ["work_pools", "id", "any_"], uuid.uuid4),
    ("/api/deployments/filter", ["work_pool_queues", "name", "startswith_"], lambda: "q"),
    ("/api/flows/filter", ["flows", "name", "any_"], lambda: "flow"),
    ("/api/variables/filter", ["variables", "id", "any_"], uuid.uuid4),
    ("/api/work_pools/filter", ["work_pools", "type", "any_"], lambda: "process"),
]


@pytest.mark.parametrize(("route", "path", "value"), LIST_FIELDS)
def test_it_takes_a_list_as_long_as_the_budget(api_client, route, path, value):
    values = [str(value()) for _ in range(VALUES_BUDGET)]
    assert post(api_client, route, nested_body(path, values)).status_code == 200


@pytest.mark.parametrize(("route", "path", "value"), LIST_FIELDS)
def test_it_refuses_a_list_past_the_budget_before_any_query(
    api_client, django_assert_num_queries, route, path, value
):
    values = [str(value()) for _ in range(VALUES_BUDGET + 1)]
    with django_assert_num_queries(0):
        response = post(api_client, route, nested_body(path, values))
    assert response.status_code == 422
    [error] = response.json()["exception_detail"]
    assert error == {
        "type": "too_long",
        "loc": ["body", *path],
        "msg": "List should have at most 250 items after validation, not 251",
        "input": values,
        "ctx": {"field_type": "List", "max_length": 250, "actual_length": 251},
    }


def test_a_workers_poll_past_the_budget_changes_nothing(api_client):
    deployment = DeploymentFactory()
    ids = [str(deployment.id)] + [str(uuid.uuid4()) for _ in range(VALUES_BUDGET)]
    route = "/api/deployments/get_scheduled_flow_runs"
    before = database_fingerprint()
    response = post(api_client, route, {"deployment_ids": ids})
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["loc"] == ["body", "deployment_ids"]
    assert database_fingerprint() == before
    assert post(api_client, route, {"deployment_ids": ids[:VALUES_BUDGET]}).status_code == 200
    assert Deployment.objects.get().status == DeploymentStatus.READY


# limit, offset and page -----------------------------------------------------------------


@pytest.mark.parametrize(
    "route",
    [
        "/api/deployments/filter",
        "/api/deployments/paginate",
        "/api/deployments/bulk_delete",
        "/api/flows/filter",
        "/api/variables/filter",
        "/api/work_pools/filter",
        "/api/v2/concurrency_limits/filter",
    ],
)
@pytest.mark.parametrize("key", ["limit", "offset", "page"])
def test_a_five_thousand_digit_number_is_prefects_400(api_client, unchanged, route, key):
    response = post(api_client, route, f'{{"{key}": {HUGE_DIGITS}}}')
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


def test_a_five_thousand_digit_limit_string_is_pydantics_422(api_client):
    response = post(api_client, "/api/deployments/filter", {"limit": HUGE_DIGITS})
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {
                "type": "int_parsing_size",
                "loc": ["body", "limit"],
                "msg": "Unable to parse input string as an integer, exceeded maximum size",
                "input": HUGE_DIGITS,
            }
        ],
        "request_body": {"limit": HUGE_DIGITS},
    }


def test_a_five_thousand_digit_number_in_a_write_stores_nothing(api_client, unchanged):
    response = post(api_client, "/api/flows/", f'{{"name": "f", "tags": [{HUGE_DIGITS}]}}')
    assert response.status_code == 400
    assert response.json() == {"detail": "There was an error parsing the body"}


# NaN and Infinity echoed in a 422 -------------------------------------------------------


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_limit_is_echoed_as_null(api_client, number):
    response = post(api_client, "/api/deployments/filter", f'{{"limit": {number}}}')
    assert response.status_code == 422
    assert response.json() == {
        "exception_message": "Invalid request received.",
        "exception_detail": [
            {
                "type": "int_type",
                "loc": ["body", "limit"],
                "msg": "Input should be a valid integer",
                "input": None,
            }
        ],
        "request_body": {"limit": None},
    }


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_parameter_is_refused_and_echoed_as_null(api_client, number):
    flow = FlowFactory(name="f")
    before = database_fingerprint()
    text = f'{{"name": "d", "flow_id": "{flow.id}", "parameters": {{"x": {number}}}}}'
    response = post(api_client, "/api/deployments/", text)
    assert response.status_code == 422
    body = response.json()
    assert body["exception_detail"][0]["input"] == {"x": None}
    assert body["request_body"]["parameters"] == {"x": None}
    assert database_fingerprint() == before


# GET /api/deployments/ ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("limit=abc", "limit: Enter a whole number."),
        ("limit=0", "limit: Ensure this value is greater than or equal to 1."),
        ("limit=201", "limit: Ensure this value is less than or equal to 200."),
        (f"limit={HUGE_DIGITS}", "limit: Enter a whole number."),
        ("offset=-1", "offset: Ensure this value is greater than or equal to 0."),
        ("offset=1.5", "offset: Enter a whole number."),
        (
            f"offset={2**63}",
            "offset: Ensure this value is less than or equal to 9223372036854775807.",
        ),
        ("flow=abc", "flow: Enter a valid UUID."),
        (
            "paused=maybe",
            "paused: Select a valid choice. maybe is not one of the available choices.",
        ),
        (
            "tag_match=some",
            "tag_match: Select a valid choice. some is not one of the available choices.",
        ),
        ("updated_after=soon", "updated_after: Enter a valid date/time."),
    ],
)
def test_the_listing_names_a_bad_parameter(api_client, query, detail):
    response = api_client.get(f"/api/deployments/?{query}")
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize("query", ["limit=200", "limit=1&offset=0", "limit=&offset=", "offset=5"])
def test_the_listing_takes_good_paging(api_client, query):
    DeploymentFactory()
    assert api_client.get(f"/api/deployments/?{query}").status_code == 200


@pytest.mark.parametrize(
    "parameter", ["name", "name_contains", "flow_name", "work_pool", "work_queue", "tag"]
)
def test_the_listing_bounds_each_text_parameter(api_client, parameter):
    at_budget = api_client.get(f"/api/deployments/?{parameter}={'a' * PATTERN_BUDGET}")
    past = api_client.get(f"/api/deployments/?{parameter}={'a' * (PATTERN_BUDGET + 1)}")
    assert at_budget.status_code == 200
    assert past.status_code == 400
    assert past.json() == {
        "detail": f"{parameter}: Ensure this value has at most 255 characters (it has 256)."
    }


def test_the_listing_bounds_repeated_tags(api_client, settings):
    settings.CATALOG_MAX_FILTER_VALUES = 3
    assert api_client.get("/api/deployments/?tag=a&tag=b&tag=c").status_code == 200
    past = api_client.get("/api/deployments/?tag=a&tag=b&tag=c&tag=d")
    assert past.status_code == 400
    assert past.json() == {"detail": "tag: Ensure at most 3 values are given (it has 4)."}


def test_the_listing_refuses_more_parameters_than_django_reads(api_client):
    query = "&".join(f"tag=t{n}" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api_client.get(f"/api/deployments/?{query}")
    assert response.status_code == 400
    assert response.json() == {"detail": "Too many query parameters."}


# No SQL in any answer -------------------------------------------------------------------


def nul_routes(names: dict) -> list[tuple[str, str, int, dict]]:
    return [
        ("get", "/api/flows/name/a%00b", 404, {"detail": "Flow not found"}),
        ("get", "/api/work_pools/a%00b", 404, {"detail": 'Work pool "a\x00b" not found.'}),
        (
            "post",
            "/api/work_pools/a%00b/queues/filter",
            404,
            {"detail": 'Work pool "a\x00b" not found.'},
        ),
        ("get", "/api/variables/name/a%00b", 404, {"detail": "Variable not found."}),
        ("patch", "/api/variables/name/a%00b", 404, {"detail": "Variable not found."}),
        ("delete", "/api/variables/name/a%00b", 404, {"detail": "Variable not found."}),
        ("get", "/api/v2/concurrency_limits/a%00b", 404, names["limit"]),
        ("delete", "/api/v2/concurrency_limits/a%00b", 404, names["limit"]),
        ("get", "/api/deployments/name/a%00b/c", 404, {"detail": "Deployment not found"}),
    ]


def test_a_nul_in_a_path_is_the_routes_404_on_every_database(api_client, unchanged):
    limit_missing = api_client.get("/api/v2/concurrency_limits/missing").json()
    for method, path, status, body in nul_routes({"limit": limit_missing}):
        data = json.dumps({"value": 1}) if method == "patch" else ""
        response = getattr(api_client, method)(path, data, content_type="application/json")
        assert (path, response.status_code, response.json()) == (path, status, body)


def test_a_value_the_database_refuses_is_a_422_without_its_words():
    request = RequestFactory().post("/api/flows/")
    refusal = DataError('value too long for type character varying(255) in "catalog_flow"')
    response = PrefectApiMiddleware(lambda request: None).process_exception(request, refusal)
    assert response.status_code == 422
    assert json.loads(response.content) == {"detail": VALUE_REFUSED}


# Django writes SQL keywords in capitals; the drivers' and databases' words in any case.
SQL_WORDS = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|WHERE|VALUES \()")
DATABASE_WORDS = re.compile(
    r"psycopg|sqlite|IntegrityError|DataError|OperationalError|Traceback|violates|"
    r"character varying|out of range for type|syntax error|DETAIL:|relation \"",
    re.IGNORECASE,
)
BAD_VALUES = [
    "x" * 300,
    "x" * 70_000,
    "a\x00b",
    2**31,
    2**63,
    -(2**63) - 1,
    1e308,
    -1,
    0.5,
    True,
    [],
    {"a": [{}]},
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "%_\\",
    "'; select 1; --",
]


def schema_names() -> list[str]:
    """Every table and constraint name of the catalog: none may reach an answer."""
    names = []
    for model in apps.get_app_config("catalog").get_models():
        names.append(model._meta.db_table)
        for constraint in model._meta.constraints:
            names.append(
                constraint.name % {"app_label": "catalog", "class": model.__name__.lower()}
            )
    return names


def write_routes() -> list[tuple[str, str, object]]:
    flow = FlowFactory(name="sweep-flow")
    deployment = DeploymentFactory(flow=flow, name="sweep")
    schedule = DeploymentScheduleFactory(deployment=deployment)
    variable = VariableFactory(name="sweep-variable")
    limit = ConcurrencyLimitFactory(name="sweep-limit")
    WorkQueueFactory(work_pool=WorkPoolFactory(name="sweep-pool"), name="sweep-queue")
    return [
        ("post", "/api/deployments/", {"name": "new", "flow_id": str(flow.id)}),
        ("patch", f"/api/deployments/{deployment.id}", {}),
        ("post", f"/api/deployments/{deployment.id}/schedules", [{"schedule": {"interval": 60}}]),
        ("patch", f"/api/deployments/{deployment.id}/schedules/{schedule.id}", {}),
        ("post", "/api/deployments/bulk_delete", {}),
        ("post", "/api/deployments/get_scheduled_flow_runs", {"deployment_ids": []}),
        ("post", "/api/flows/", {"name": "new-flow"}),
        ("patch", f"/api/flows/{flow.id}", {}),
        ("post", "/api/work_pools/", {"name": "new-pool"}),
        ("post", "/api/variables/", {"name": "new-variable", "value": 1}),
        ("patch", f"/api/variables/{variable.id}", {}),
        ("post", "/api/v2/concurrency_limits/", {"name": "new-limit", "limit": 1}),
        ("patch", f"/api/v2/concurrency_limits/{limit.id}", {}),
    ]


WRITE_FIELDS = {
    "deployments": [
        "name",
        "version",
        "description",
        "flow_id",
        "paused",
        "tags",
        "parameters",
        "work_pool_name",
        "work_queue_name",
        "concurrency_limit",
        "entrypoint",
        "path",
        "job_variables",
        "pull_steps",
        "labels",
        "schedules",
        "version_info",
    ],
    "schedules": ["active", "max_scheduled_runs", "parameters", "slug", "schedule"],
    "flows": ["name", "tags", "labels"],
    "work_pools": ["name", "type", "description", "concurrency_limit", "base_job_template"],
    "variables": ["name", "value", "tags"],
    "v2": ["name", "limit", "active_slots", "slot_decay_per_second", "active"],
    "bulk_delete": ["deployments", "limit"],
    "get_scheduled_flow_runs": ["deployment_ids", "scheduled_before", "limit"],
}


def sweep_cases(path: str, base) -> list:
    kind = path.split("/")[-1] if path.endswith(("bulk_delete", "runs")) else path.split("/")[2]
    if "/schedules" in path:
        kind = "schedules"
    cases = []
    for field in WRITE_FIELDS[kind]:
        for value in BAD_VALUES:
            if isinstance(base, list):
                cases.append([{**base[0], field: value}])
            else:
                cases.append({**base, field: value})
    if kind in ("deployments", "schedules"):
        for field in ("interval", "anchor_date", "timezone", "cron", "rrule"):
            for value in BAD_VALUES:
                schedule = {"schedule": {field: value}}
                cases.append(schedule if kind == "schedules" else {**base, "schedules": [schedule]})
    return cases


def without_echoes(answer):
    """The answer's own words: what it echoes of the request is the caller's."""
    if isinstance(answer, dict):
        return {
            key: without_echoes(value)
            for key, value in answer.items()
            if key not in ("input", "request_body")
        }
    if isinstance(answer, list):
        return [without_echoes(item) for item in answer]
    return answer


def test_no_bad_write_answers_500_or_shows_sql(api_client):
    names = schema_names()
    seen = set()
    for method, path, base in write_routes():
        for body in sweep_cases(path, base):
            with transaction.atomic():
                response = getattr(api_client, method)(
                    path, json.dumps(body), content_type="application/json"
                )
                transaction.set_rollback(True)
            seen.add(response.status_code)
            assert response.status_code < 500, (path, body, response.content[:300])
            if response.status_code < 400:
                continue
            text = json.dumps(without_echoes(response.json()), ensure_ascii=False)
            for echoed in [INTEGRITY_CONFLICT, *(v for v in BAD_VALUES if isinstance(v, str))]:
                text = text.replace(json.dumps(echoed, ensure_ascii=False)[1:-1], "")
            assert not SQL_WORDS.search(text), (connection.vendor, path, body, text[:300])
            assert not DATABASE_WORDS.search(text), (connection.vendor, path, body, text[:300])
            assert not [name for name in names if name in text], (path, body, text[:300])
    assert {200, 201, 204, 404, 422} <= seen
