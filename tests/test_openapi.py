"""The OpenAPI schema at `/api/openapi.json` and the docs pages that render it.

The schema is compared with the one a real Prefect 3.9.1 server publishes
(`tests/data/prefect/00_openapi.json`) and with Prefect's "Read Deployment" reference page
(`tests/data/prefect-openapi/`); every answer and accepted request of the captured Prefect
scenarios is validated against it; the docs pages are loaded in headless Chromium.
"""

import json
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern
from jsonschema import Draft202012Validator
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from catalog.api import urls
from catalog.api.auth import READS_SENT_AS_POST
from tests.browser import screenshot
from tests.conftest import DATA, prefect_json
from tests.factories import DeploymentFactory

PREFECT = prefect_json("00_openapi.json")
PREFECT_COMPONENTS = PREFECT["components"]["schemas"]
SEED_PAGE = (DATA / "prefect-openapi" / "read-deployment-page.txt").read_text()
CAPTURES = [
    json.loads(line)
    for name in (
        "prefect-scenario",
        "prefect-variables",
        "prefect-cli-routes",
        "prefect-work-pool-update",
        "prefect-work-queues",
        "prefect-empty-store",
    )
    for line in (DATA / name / "captured.jsonl").read_text().splitlines()
]
# Answers given before any route runs: redirects to the other trailing slash, methods a
# route lacks, and the API version check. They are no operation's answers.
NOT_OPERATION_ANSWERS = {307, 400, 405}
# The catalog's own routes, which Prefect's server lacks.
CATALOG_OPERATIONS = {
    ("get", "/deployments/"),
    ("get", "/deployments/{id}/history"),
    ("post", "/deployments/{id}/history/{version}/restore"),
}
# The components a deployment's answer is made of.
DEPLOYMENT_RESPONSE_PARTS = [
    "DeploymentResponse",
    "DeploymentSchedule",
    "IntervalSchedule-Output",
    "CronSchedule",
    "RRuleSchedule",
    "GlobalConcurrencyLimitResponse",
    "ConcurrencyOptions",
    "CreatedBy",
    "UpdatedBy",
]
OTHER_RESPONSES = [
    "Flow",
    "FlowPaginationResponse",
    "DeploymentPaginationResponse",
    "ConcurrencyLimitV2",
    "WorkPoolResponse",
    "WorkPoolStorageConfiguration",
    "WorkQueueResponse",
    "QueueFilter",
    "Variable",
]
ENUMS = [
    "DeploymentStatus",
    "ConcurrencyLimitStrategy",
    "DeploymentSort",
    "FlowSort",
    "VariableSort",
    "WorkPoolStatus",
    "WorkQueueStatus",
    "Operator",
]
REQUEST_BODIES = [
    "DeploymentCreate",
    "DeploymentUpdate",
    "DeploymentScheduleCreate",
    "DeploymentScheduleUpdate",
    "IntervalSchedule-Input",
    "FlowCreate",
    "FlowUpdate",
    "ConcurrencyLimitV2Create",
    "ConcurrencyLimitV2Update",
    "VariableCreate",
    "VariableUpdate",
    "WorkPoolCreate",
    "WorkPoolUpdate",
    "VersionInfo",
    "DeploymentFilter",
    "FlowFilter",
    "WorkPoolFilter",
    "WorkQueueFilter",
    "VariableFilter",
]


@pytest.fixture(scope="module")
def schema() -> dict:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def components(schema: dict) -> dict:
    return schema["components"]["schemas"]


def without_patterns(value):
    """A schema without `pattern`s: the zone list of `RRuleSchedule.timezone` follows the
    installed tzdata, so it differs between any two machines."""
    if isinstance(value, dict):
        return {key: without_patterns(item) for key, item in value.items() if key != "pattern"}
    if isinstance(value, list):
        return [without_patterns(item) for item in value]
    return value


def test_it_serves_an_openapi_3_1_document_for_the_api(schema):
    assert schema["openapi"] == "3.1.0"
    assert schema["servers"] == [{"url": "/api"}]
    assert schema["info"]["version"] == "0.8.4"


# Routes and operations -----------------------------------------------------------------


def api_routes() -> list[URLPattern]:
    return [route for route in urls.urlpatterns if route.name != "api-not-found"]


def schema_path(route: URLPattern) -> str:
    """`deployments/<prefect_uuid:id>` as OpenAPI writes it: `/deployments/{id}`."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(route.pattern))


def route_methods(route: URLPattern) -> set[str]:
    view = route.callback.view_class
    return {method for method in ("get", "post", "put", "patch", "delete") if hasattr(view, method)}


@pytest.mark.parametrize("route", api_routes(), ids=lambda route: route.name)
def test_every_route_appears_with_its_methods(schema, route):
    assert set(schema["paths"][schema_path(route)]) == route_methods(route)


def test_the_schema_describes_no_path_the_api_lacks(schema):
    assert set(schema["paths"]) == {schema_path(route) for route in api_routes()}


def operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]


def test_operations_have_prefects_ids_summaries_and_tags(schema):
    compared = 0
    for path, method, operation in operations(schema):
        prefect = PREFECT["paths"].get(path, {}).get(method)
        if prefect is None:
            assert (method, path) in CATALOG_OPERATIONS, "the catalog's own routes"
            continue
        assert operation["operationId"] == prefect["operationId"]
        assert operation["summary"] == prefect["summary"]
        assert operation["tags"] == prefect.get("tags", ["Root"])
        compared += 1
    assert compared == len(operations(schema)) - len(CATALOG_OPERATIONS)


def test_the_catalogs_own_operations_are_named_as_prefect_would_name_them(schema):
    named = {
        (method, path): (operation["operationId"], operation["summary"], operation["tags"])
        for path, method, operation in operations(schema)
        if (method, path) in CATALOG_OPERATIONS
    }
    assert named == {
        ("get", "/deployments/"): (
            "list_deployments_deployments__get",
            "List Deployments",
            ["Deployments"],
        ),
        ("get", "/deployments/{id}/history"): (
            "read_deployment_history_deployments__id__history_get",
            "Read Deployment History",
            ["Deployments"],
        ),
        ("post", "/deployments/{id}/history/{version}/restore"): (
            "restore_deployment_version_deployments__id__history__version__restore_post",
            "Restore Deployment Version",
            ["Deployments"],
        ),
    }


def test_every_write_takes_an_optional_change_reason(schema):
    reads = {schema_path(route) for route in api_routes() if route.name in READS_SENT_AS_POST}
    for path, method, operation in operations(schema):
        reason = parameters_of(operation, "header").get("x-change-reason")
        is_write = method != "get" and not (method == "post" and path in reads)
        assert (reason is not None) == is_write, (method, path)
        if reason is not None:
            assert (reason["required"], reason["schema"]) == (False, {"type": "string"})
            assert "422" in operation["responses"], (method, path)


def parameters_of(operation: dict, location: str) -> dict[str, dict]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == location}


def test_path_parameters_are_named_typed_and_described_as_prefects(schema):
    for path, method, operation in operations(schema):
        prefect = PREFECT["paths"].get(path, {}).get(method, {})
        ours, theirs = parameters_of(operation, "path"), parameters_of(prefect, "path")
        if prefect:
            assert set(ours) == set(theirs), path
        for name, parameter in theirs.items():
            assert ours[name].get("description") == parameter.get("description"), (path, name)
            for key in ("type", "format", "anyOf"):
                assert ours[name]["schema"].get(key) == parameter["schema"].get(key), (path, name)


def test_the_api_version_header_is_listed_where_prefect_lists_it(schema):
    for path, method, operation in operations(schema):
        prefect = PREFECT["paths"].get(path, {}).get(method)
        expected = prefect is None or "x-prefect-api-version" in parameters_of(prefect, "header")
        assert ("x-prefect-api-version" in parameters_of(operation, "header")) == expected, path


def test_a_request_body_is_required_where_prefect_requires_one(schema):
    for path, method, operation in operations(schema):
        prefect = PREFECT["paths"].get(path, {}).get(method, {})
        if "requestBody" in prefect:
            required = prefect["requestBody"].get("required", False)
            assert operation["requestBody"].get("required", False) == required, (path, method)


# Components ----------------------------------------------------------------------------


def test_deployment_response_has_every_prefect_field_in_order(schema):
    ours = components(schema)["DeploymentResponse"]
    theirs = PREFECT_COMPONENTS["DeploymentResponse"]
    assert list(ours["properties"]) == list(theirs["properties"])
    assert set(ours["required"]) == set(theirs["required"])


@pytest.mark.parametrize("field", list(PREFECT_COMPONENTS["DeploymentResponse"]["properties"]))
def test_each_deployment_response_field_has_prefects_type_nullability_and_text(schema, field):
    ours = components(schema)["DeploymentResponse"]["properties"][field]
    assert ours == PREFECT_COMPONENTS["DeploymentResponse"]["properties"][field]


def test_concurrency_limit_is_marked_deprecated(schema):
    concurrency_limit = components(schema)["DeploymentResponse"]["properties"]["concurrency_limit"]
    assert concurrency_limit["deprecated"] is True
    assert concurrency_limit["description"].startswith("DEPRECATED: Prefer")


@pytest.mark.parametrize("name", DEPLOYMENT_RESPONSE_PARTS + OTHER_RESPONSES)
def test_response_components_are_prefects(schema, name):
    ours, theirs = components(schema)[name], PREFECT_COMPONENTS[name]
    assert without_patterns(ours["properties"]) == without_patterns(theirs["properties"])
    assert list(ours["properties"]) == list(theirs["properties"])
    assert set(ours.get("required", [])) == set(theirs.get("required", []))


@pytest.mark.parametrize("name", ENUMS)
def test_enums_are_prefects(schema, name):
    assert components(schema)[name]["enum"] == PREFECT_COMPONENTS[name]["enum"]
    assert components(schema)[name]["type"] == "string"


def test_status_and_collision_strategy_use_the_enums(schema):
    properties = components(schema)["DeploymentResponse"]["properties"]
    assert {"$ref": "#/components/schemas/DeploymentStatus"} in properties["status"]["anyOf"]
    strategy = components(schema)["ConcurrencyOptions"]["properties"]["collision_strategy"]
    assert strategy == {"$ref": "#/components/schemas/ConcurrencyLimitStrategy"}


@pytest.mark.parametrize("name", REQUEST_BODIES)
def test_request_bodies_have_prefects_fields(schema, name):
    ours, theirs = components(schema)[name], PREFECT_COMPONENTS[name]
    assert list(ours["properties"]) == list(theirs["properties"])
    assert set(ours.get("required", [])) == set(theirs.get("required", []))
    assert ours.get("additionalProperties") == theirs.get("additionalProperties")
    for field, prefect in theirs["properties"].items():
        assert ours["properties"][field].get("description") == prefect.get("description")


def test_a_schedule_is_read_from_seconds_or_text_and_written_as_seconds(schema):
    read = components(schema)["IntervalSchedule-Input"]["properties"]["interval"]
    written = components(schema)["IntervalSchedule-Output"]["properties"]["interval"]
    assert read["anyOf"] == [{"type": "number", "exclusiveMinimum": 0}, {"type": "string"}]
    assert written["type"] == "number"


# The "Read Deployment" reference page --------------------------------------------------

IDENTIFIER = re.compile(r"^[a-z_]+$")
TYPE_LABEL = re.compile(
    r"^(?:enum<)?(?:string|integer|number|boolean|object)>?(?:\[\])?(?: \| null)?$"
)


def seed_fields(page: str) -> dict[str, dict]:
    """Each answer field of the page: `type`, `flags`, `default`, `description`, `options`."""
    lines = [line.strip() for line in page.split("Successful Response", 1)[1].splitlines()]
    lines = [line for line in lines if line]
    fields: dict[str, dict] = {}
    current: dict = {}
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if IDENTIFIER.match(line) and TYPE_LABEL.match(following):
            current = fields[line] = {"type": following, "flags": set(), "description": []}
            index += 2
            continue
        if line in {"required", "deprecated"}:
            current["flags"].add(line)
        elif line == "default:":
            current["default"] = following
            index += 1
        elif line == "Available options:":
            current["options"] = []
        elif "options" in current:
            current["options"].append(line.rstrip(","))
        else:
            current["description"].append(line)
        index += 1
    return fields


SEED = seed_fields(SEED_PAGE)


def type_label(property_schema: dict, schemas: dict) -> str:
    """A property's type as the reference page writes it: `string | null`, `object[]`."""
    if "anyOf" in property_schema:
        kinds = [type_label(kind, schemas) for kind in property_schema["anyOf"]]
        return " | ".join(kinds)
    if "$ref" in property_schema:
        target = schemas[property_schema["$ref"].rsplit("/", 1)[1]]
        return f"enum<{target['type']}>" if "enum" in target else "object"
    if property_schema.get("type") == "array":
        return type_label(property_schema["items"], schemas) + "[]"
    return property_schema["type"]


def test_the_reference_page_lists_the_fields_it_should():
    assert len(SEED) == 29
    assert "concurrency_limit" in SEED and "enforce_parameter_schema" in SEED


@pytest.mark.parametrize("field", list(SEED))
def test_the_reference_pages_description_appears_in_the_schema(schema, field):
    described = SEED[field]["description"]
    ours = components(schema)["DeploymentResponse"]["properties"][field].get("description")
    if not described:
        assert ours is None
        return
    # The page renders the description's markdown: `path` shows as path.
    assert ours.replace("`", "") == " ".join(described)


@pytest.mark.parametrize("field", list(SEED))
def test_the_reference_pages_type_flags_and_default_match_the_schema(schema, field):
    ours = components(schema)["DeploymentResponse"]
    property_schema = ours["properties"][field]
    assert type_label(property_schema, components(schema)) == SEED[field]["type"]
    assert ("required" in SEED[field]["flags"]) == (field in ours["required"])
    assert ("deprecated" in SEED[field]["flags"]) == property_schema.get("deprecated", False)
    if "default" in SEED[field]:
        assert json.dumps(property_schema["default"]).strip('"') == SEED[field]["default"]


def test_the_reference_pages_status_options_are_the_enum(schema):
    assert SEED["status"]["options"] == components(schema)["DeploymentStatus"]["enum"]


# Every answer Prefect gave, validated against the schema --------------------------------


def path_templates() -> list[tuple[re.Pattern, str]]:
    """Prefect's paths as patterns, literal ones first (`/deployments/filter` before
    `/deployments/{id}`)."""
    templates = sorted(PREFECT["paths"], key=lambda path: path.count("{"))
    return [(re.compile(f"^{path_pattern(path)}$"), path) for path in templates]


def path_pattern(template: str) -> str:
    return re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))


TEMPLATES = path_templates()


def template_of(capture: dict) -> str | None:
    path = urlsplit(capture["path"]).path.removeprefix("/api")
    for pattern, template in TEMPLATES:
        if pattern.match(path) and capture["method"].lower() in PREFECT["paths"][template]:
            return template
    return None


OPERATION_ANSWERS = [
    capture
    for capture in CAPTURES
    if capture["status"] not in NOT_OPERATION_ANSWERS and template_of(capture)
]


def validator(fragment: dict, schema: dict) -> Draft202012Validator:
    document = {**fragment, "components": schema["components"]}
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(fragment: dict, instance, schema: dict) -> list[str]:
    found = validator(fragment, schema).iter_errors(instance)
    return [f"{list(error.absolute_path)}: {error.message[:300]}" for error in found]


def test_the_captures_exercise_most_operations(schema):
    assert len(OPERATION_ANSWERS) > 300
    exercised = {(template_of(capture), capture["method"].lower()) for capture in OPERATION_ANSWERS}
    documented = {
        (path, method)
        for path, method, _ in operations(schema)
        if (method, path) not in CATALOG_OPERATIONS
    }
    assert len(exercised & documented) >= len(documented) - 6


@pytest.mark.parametrize("capture", OPERATION_ANSWERS, ids=lambda capture: capture["case"])
def test_prefects_answer_is_documented_and_fits_its_schema(schema, capture):
    operation = schema["paths"][template_of(capture)][capture["method"].lower()]
    answer = operation["responses"][str(capture["status"])]
    if "content" not in answer:
        assert capture["response"] == ""
        return
    body_schema = answer["content"]["application/json"]["schema"]
    assert problems(body_schema, json.loads(capture["response"]), schema) == []


ACCEPTED_BODIES = [
    capture for capture in OPERATION_ANSWERS if capture["status"] < 300 and capture["request"]
]
# pydantic reads a numeric string as an integer; schemas, Prefect's too, list the integer.
LAX_NUMBERS = {
    "var_filter_limit_numeric_string": [
        "['limit']: '1' is not valid under any of the given schemas",
    ],
    "concurrency_limit_as_digits_204": [
        "['concurrency_limit']: '5' is not valid under any of the given schemas",
    ],
}


@pytest.mark.parametrize("capture", ACCEPTED_BODIES, ids=lambda capture: capture["case"])
def test_a_body_prefect_accepted_fits_the_request_schema(schema, capture):
    operation = schema["paths"][template_of(capture)][capture["method"].lower()]
    body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
    found = problems(body_schema, json.loads(capture["request"]), schema)
    assert found == LAX_NUMBERS.get(capture["case"], [])


@pytest.mark.django_db
def test_the_catalogs_own_listing_fits_its_schema(schema, reference_deployments, api_client):
    listing = api_client.get("/api/deployments/", {"limit": 2})
    operation = schema["paths"]["/deployments/"]["get"]
    page_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    body = listing.json()
    assert len(body["results"]) == 2 and body["next"] is not None
    assert problems(page_schema, body, schema) == []


@pytest.mark.django_db
def test_a_deployments_history_and_a_restore_fit_their_schemas(schema, api_client):
    deployment = DeploymentFactory(description="first")
    patched = api_client.patch(
        f"/api/deployments/{deployment.id}", {"description": "second"}, format="json"
    )
    assert patched.status_code == 204
    route = "/deployments/{id}/history"
    page = api_client.get(f"/api{route.format(id=deployment.id)}", {"limit": 1})
    restored = api_client.post(f"/api{route.format(id=deployment.id)}/1/restore")
    for body, operation in [
        (page.json(), schema["paths"][route]["get"]),
        (restored.json(), schema["paths"][f"{route}/{{version}}/restore"]["post"]),
    ]:
        answer_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert problems(answer_schema, body, schema) == []
    assert (page.json()["count"], page.json()["next"] is not None) == (2, True)
    assert restored.json()["kind"] == "restored"


# The docs pages, in a real browser -----------------------------------------------------


def network_log(browser) -> tuple[dict[str, str], set[str]]:
    """What the page asked for since the last call, from Chromium's network log: each
    request's URL by id, and the ids the page's Content-Security-Policy refused."""
    messages = [json.loads(entry["message"])["message"] for entry in browser.get_log("performance")]
    requested = {
        message["params"]["requestId"]: message["params"]["request"]["url"]
        for message in messages
        if message["method"] == "Network.requestWillBeSent"
    }
    refused = {
        message["params"]["requestId"]
        for message in messages
        if message["method"] == "Network.loadingFailed"
        and message["params"].get("blockedReason") == "csp"
    }
    return requested, refused


def elsewhere(url: str, server_url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in {"data", "blob"} and parts.netloc != urlsplit(server_url).netloc


def requests_leaving_the_machine(browser, server_url: str) -> tuple[list[str], list[str]]:
    """The URLs of other hosts the page fetched, by the network log and by the page's own
    Resource Timing entries, less those its Content-Security-Policy refused; and every
    URL the page asked for."""
    requested, refused = network_log(browser)
    refused_urls = {requested[request] for request in refused}
    seen = [*requested.values(), *resource_urls(browser)]
    leaving = [url for url in seen if elsewhere(url, server_url) and url not in refused_urls]
    return leaving, list(requested.values())


def resource_urls(browser) -> list[str]:
    return browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )


def operation_count(schema: dict, *, distinct_tags: bool) -> int:
    """How many operations a docs page shows: one under each of its tags. Prefect tags
    "Read Block Document By Name For Block Type" `Block types` twice, then `Block
    documents`: Swagger UI shows it under each distinct tag, ReDoc under each tag."""
    tag_lists = [operation["tags"] for _, _, operation in operations(schema)]
    return sum(len(set(tags)) if distinct_tags else len(tags) for tags in tag_lists)


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_every_operation_from_local_files(browser, live_server, schema):
    browser.get_log("performance")
    browser.get(f"{live_server.url}/api/docs")
    WebDriverWait(browser, 30).until(
        lambda driver: len(driver.find_elements(By.CSS_SELECTOR, ".opblock")) > 0
    )
    blocks = browser.find_elements(By.CSS_SELECTOR, ".opblock")
    assert len(blocks) == operation_count(schema, distinct_tags=True)
    summaries = {block.text for block in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary")}
    assert any("/deployments/{id}" in text and "Read Deployment" in text for text in summaries)
    screenshot(browser, "api-docs-swagger")
    leaving, requested = requests_leaving_the_machine(browser, live_server.url)
    assert f"{live_server.url}/api/openapi.json" in requested
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/" in url for url in requested)
    assert leaving == []


@pytest.mark.django_db(transaction=True)
def test_redoc_renders_every_operation_from_local_files(browser, live_server, schema):
    browser.get_log("performance")
    browser.get(f"{live_server.url}/api/redoc")
    WebDriverWait(browser, 30).until(
        lambda driver: (
            len(driver.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")) > 0
        )
    )
    rendered = browser.find_elements(By.CSS_SELECTOR, "[data-section-id^='operation/']")
    assert len(rendered) == operation_count(schema, distinct_tags=False)
    assert "Read Deployment" in browser.find_element(By.TAG_NAME, "body").text
    # ReDoc links its logo from its CDN; the page's policy refuses it and ReDoc drops it.
    WebDriverWait(browser, 10).until(
        lambda driver: (
            not driver.execute_script("return document.querySelector('img[alt=\"redocly logo\"]')")
        )
    )
    screenshot(browser, "api-docs-redoc")
    leaving, requested = requests_leaving_the_machine(browser, live_server.url)
    assert f"{live_server.url}/api/openapi.json" in requested
    assert any("/static/drf_spectacular_sidecar/redoc/" in url for url in requested)
    assert leaving == []


def test_the_docs_pages_name_no_other_host(client):
    for page in ("/api/docs", "/api/redoc"):
        html = client.get(page).content.decode()
        assert re.findall(r"(?:src|href)=\"(https?:)?//", html) == [], page
