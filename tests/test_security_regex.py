"""Regular expressions in parameter schemas: run by RE2 (linear time) through every door,
refused when RE2 cannot run them or when they are past the budget (README, "Security")."""

import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import Deployment
from catalog.rules import schema_patterns
from tests.factories import DeploymentFactory, FlowFactory, WorkPoolFactory
from tests.replay import database_fingerprint
from tests.test_write_doors import deployment_form

pytestmark = pytest.mark.django_db

EVIL = "^(a+)+$"
# Python's `re` takes seconds from 26 characters on and kills a worker at 34.
EVIL_26 = "a" * 25 + "!"
EVIL_34 = "a" * 33 + "!"
INVALID_PREFIX = "The provided schema is not a valid json schema. parameter_openapi_schema: "
RE2_REFUSAL = (
    "cannot be used: the catalog runs schema patterns with RE2, which has no "
    "backreferences, lookaround or atomic groups, and repeats at most 1000 times"
)


def schema_with(pattern: str) -> dict:
    return {"type": "object", "properties": {"x": {"type": "string", "pattern": pattern}}}


def off_schema(value: str, pattern: str = EVIL) -> str:
    return f"Validation failed for field 'x'. Failure reason: {value!r} does not match {pattern!r}"


@pytest.fixture
def searched(monkeypatch) -> list:
    """Each (pattern, text) RE2 was asked to search."""
    calls = []
    search = schema_patterns.searches

    def recorded(pattern: str, text: str) -> bool:
        calls.append((pattern, text))
        return search(pattern, text)

    monkeypatch.setattr(schema_patterns, "searches", recorded)
    return calls


@pytest.fixture
def flow():
    return FlowFactory(name="regex-flow")


def create(api_client, flow, schema: dict, parameters: dict, **extra):
    body = {
        "name": "regex",
        "flow_id": str(flow.id),
        "enforce_parameter_schema": True,
        "parameter_openapi_schema": schema,
        "parameters": parameters,
        **extra,
    }
    return api_client.post("/api/deployments/", json.dumps(body), content_type="application/json")


def only_message(response) -> str:
    assert response.status_code == 422, response.content[:500]
    [error] = response.json()["exception_detail"]
    return error["msg"].removeprefix("Value error, ")


# The API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [EVIL_26, EVIL_34], ids=["26", "34"])
def test_it_checks_an_evil_pattern_with_re2_on_create(api_client, flow, searched, value):
    before = database_fingerprint()
    response = create(api_client, flow, schema_with(EVIL), {"x": value})
    assert only_message(response) == off_schema(value)
    assert (EVIL, value) in searched
    assert database_fingerprint() == before


def test_it_stores_a_value_the_evil_pattern_matches(api_client, flow, searched):
    response = create(api_client, flow, schema_with(EVIL), {"x": "a" * 34})
    assert response.status_code == 201
    assert Deployment.objects.get(name="regex").parameters == {"x": "a" * 34}
    assert (EVIL, "a" * 34) in searched


def test_it_checks_an_evil_pattern_with_re2_on_update(api_client, searched):
    deployment = DeploymentFactory(
        enforce_parameter_schema=True, parameter_openapi_schema=schema_with(EVIL)
    )
    before = database_fingerprint()
    response = api_client.patch(
        f"/api/deployments/{deployment.id}",
        json.dumps({"parameters": {"x": EVIL_34}}),
        content_type="application/json",
    )
    # Prefect's answer to parameters off the schema on update.
    assert response.status_code == 409
    assert response.json() == {"detail": f"Error updating deployment: {off_schema(EVIL_34)}"}
    assert (EVIL, EVIL_34) in searched
    assert database_fingerprint() == before


def test_it_runs_pattern_properties_and_additional_properties_with_re2(api_client, flow, searched):
    schema = {"type": "object", "patternProperties": {EVIL: {}}, "additionalProperties": False}
    response = create(api_client, flow, schema, {EVIL_34: 1})
    assert only_message(response) == (
        f"Validation failed. Failure reason: {EVIL_34!r} does not match any of the regexes: "
        f"{EVIL!r}"
    )
    assert (EVIL, EVIL_34) in searched


def test_a_subschema_of_another_draft_still_runs_with_re2(api_client, flow, searched):
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "pattern": EVIL}
    schema = {"type": "object", "properties": {"x": draft7}}
    response = create(api_client, flow, schema, {"x": EVIL_34})
    assert only_message(response) == off_schema(EVIL_34)
    assert (EVIL, EVIL_34) in searched


def test_a_format_regex_value_is_never_run(api_client, flow, searched):
    schema = {"type": "object", "properties": {"x": {"type": "string", "format": "regex"}}}
    assert create(api_client, flow, schema, {"x": "(a+)+$("}).status_code == 201
    assert searched == []


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"^(a)\1$", "invalid escape sequence: \\1"),
        ("^(?=a)a$", "invalid perl operator: (?="),
        ("^(?<!b)a$", "invalid perl operator: (?<!"),
        ("^a{1001}$", "invalid repetition size: {1001}"),
    ],
    ids=["backreference", "lookahead", "lookbehind", "repeat"],
)
def test_a_pattern_re2_cannot_run_is_refused(api_client, flow, pattern, reason):
    before = database_fingerprint()
    response = create(api_client, flow, schema_with(pattern), {"x": "a"})
    assert only_message(response) == (
        f"{INVALID_PREFIX}The pattern {pattern!r} {RE2_REFUSAL} ({reason})."
    )
    assert database_fingerprint() == before


def test_a_pattern_key_re2_cannot_run_is_refused(api_client, flow):
    schema = {"type": "object", "patternProperties": {"(?=a)": {}}}
    response = create(api_client, flow, schema, {})
    assert only_message(response) == (
        f"{INVALID_PREFIX}The pattern '(?=a)' {RE2_REFUSAL} (invalid perl operator: (?=)."
    )


def test_python_escapes_re2_spells_otherwise_are_translated(api_client, flow, searched):
    pattern = r"^\u0041\u00e9+\Z"
    response = create(api_client, flow, schema_with(pattern), {"x": "Aé\n"})
    assert only_message(response) == off_schema("Aé\n", pattern)
    assert create(api_client, flow, schema_with(pattern), {"x": "Aéé"}).status_code == 201


def test_a_pattern_python_refuses_is_refused_as_prefect_refuses_it(api_client, flow):
    response = create(api_client, flow, schema_with("(a"), {"x": "a"})
    assert only_message(response) == (
        "The provided schema is not a valid json schema. Schema error: '(a' is not a 'regex'"
    )


def test_the_production_budget_is_the_default():
    assert settings.CATALOG_SCHEMA_MAX_PATTERN_LENGTH == 1000
    production = schema_patterns.PatternBudget(1000, 4 * 1024 * 1024, 50_000_000, 50_000)
    assert production == schema_patterns.BUDGET


def test_a_pattern_at_the_length_limit_is_accepted(api_client, flow):
    pattern = "a" * settings.CATALOG_SCHEMA_MAX_PATTERN_LENGTH
    response = create(api_client, flow, schema_with(pattern), {"x": pattern})
    assert response.status_code == 201


def test_a_pattern_past_the_length_limit_is_refused(api_client, flow):
    pattern = "a" * (settings.CATALOG_SCHEMA_MAX_PATTERN_LENGTH + 1)
    before = database_fingerprint()
    response = create(api_client, flow, schema_with(pattern), {"x": pattern})
    assert only_message(response) == (
        f"{INVALID_PREFIX}The pattern {pattern[:80]!r}… has 1001 characters; a schema "
        "pattern may have at most 1000."
    )
    assert database_fingerprint() == before


def test_a_pattern_past_the_memory_budget_is_refused(api_client, flow):
    # 500 separate letters, 1000 times over: more RE2 program than 4 MiB holds.
    pattern = "^[" + "".join(chr(0x100 + 2 * n) for n in range(500)) + "]{1000}$"
    response = create(api_client, flow, schema_with(pattern), {"x": "a"})
    assert only_message(response) == (
        f"{INVALID_PREFIX}The pattern {pattern[:80]!r}… is too large: it needs more than the "
        f"{4 * 1024 * 1024} bytes a schema pattern may use."
    )


# One match: the characters times the pattern's RE2 program (2296 instructions here).
WIDE = "^.{1,255}$"
WIDE_MOST = 50_000_000 // 2296


def test_a_text_within_the_match_budget_is_checked(api_client, flow, searched):
    assert schema_patterns.compiled(WIDE).programsize == 2296
    response = create(api_client, flow, schema_with(WIDE), {"x": "a" * WIDE_MOST})
    assert only_message(response) == off_schema("a" * WIDE_MOST, WIDE)


def test_a_text_past_the_match_budget_is_refused(api_client, flow):
    before = database_fingerprint()
    response = create(api_client, flow, schema_with(WIDE), {"x": "a" * (WIDE_MOST + 1)})
    assert only_message(response) == (
        f"Validation failed. Failure reason: A text of {WIDE_MOST + 1} characters is too long "
        f"to check against the pattern {WIDE!r}: at most {WIDE_MOST} characters can be "
        "checked against it."
    )
    assert database_fingerprint() == before


def test_unevaluated_properties_with_pattern_properties_is_refused(api_client, flow):
    schema = {"type": "object", "patternProperties": {"^a": {}}, "unevaluatedProperties": False}
    response = create(api_client, flow, schema, {"ab": 1})
    assert only_message(response) == (
        f"{INVALID_PREFIX}A schema may not use both unevaluatedProperties and "
        "patternProperties: the catalog cannot check unevaluated properties against "
        "patterns in linear time."
    )


# Job variables against the work pool's schema -------------------------------------------


def pool_with(pattern: str):
    variables = {"type": "object", "properties": {"image": {"type": "string", "pattern": pattern}}}
    return WorkPoolFactory(
        name="regex-pool", base_job_template={"job_configuration": {}, "variables": variables}
    )


def test_job_variables_are_checked_with_re2(api_client, flow, searched):
    pool_with(EVIL)
    response = create(
        api_client, flow, {}, {}, work_pool_name="regex-pool", job_variables={"image": EVIL_34}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"Error creating deployment: Validation failed for field 'image'. "
        f"Failure reason: {EVIL_34!r} does not match {EVIL!r}"
    }
    assert (EVIL, EVIL_34) in searched


def test_a_pool_pattern_re2_cannot_run_refuses_the_job_variables(api_client, flow):
    pool_with(r"(a)\1")
    before = database_fingerprint()
    response = create(
        api_client, flow, {}, {}, work_pool_name="regex-pool", job_variables={"image": "aa"}
    )
    assert response.status_code == 422
    assert response.json() == {
        "detail": "Error creating deployment: The provided schema is not a valid json schema. "
        "the base_job_template variables of work pool 'regex-pool': The pattern '(a)\\\\1' "
        f"{RE2_REFUSAL} (invalid escape sequence: \\1)."
    }
    assert database_fingerprint() == before


# The admin and the importer -------------------------------------------------------------


def admin_add(admin_client, flow, schema: dict, parameters: dict):
    form = deployment_form(
        {"name": "regex", "parameter_openapi_schema": schema, "parameters": parameters}, flow
    )
    return admin_client.post(reverse("admin:catalog_deployment_add"), form)


def test_the_admin_checks_an_evil_pattern_with_re2(admin_client, flow, searched):
    before = database_fingerprint()
    response = admin_add(admin_client, flow, schema_with(EVIL), {"x": EVIL_34})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["parameters"] == [off_schema(EVIL_34)]
    assert (EVIL, EVIL_34) in searched
    assert database_fingerprint() == before


def test_the_admin_refuses_a_pattern_re2_cannot_run(admin_client, flow):
    response = admin_add(admin_client, flow, schema_with(r"(a)\1"), {"x": "aa"})
    assert response.context["adminform"].form.errors["parameter_openapi_schema"] == [
        f"{INVALID_PREFIX}The pattern '(a)\\\\1' {RE2_REFUSAL} (invalid escape sequence: \\1)."
    ]
    assert not Deployment.objects.filter(name="regex").exists()


def import_one(tmp_path, flow, schema: dict, parameters: dict) -> str:
    record = {
        "name": "regex",
        "flow_name": flow.name,
        "enforce_parameter_schema": True,
        "parameter_openapi_schema": schema,
        "parameters": parameters,
    }
    path = tmp_path / "import.json"
    path.write_text(json.dumps({"deployments": [record]}))
    with pytest.raises(CommandError) as refused:
        call_command("import_deployments", str(path), "--quiet")
    return str(refused.value)


def test_the_importer_checks_an_evil_pattern_with_re2(tmp_path, flow, searched):
    before = database_fingerprint()
    message = import_one(tmp_path, flow, schema_with(EVIL), {"x": EVIL_34})
    assert f"deployments[0].parameters: {off_schema(EVIL_34)}" in message
    assert (EVIL, EVIL_34) in searched
    assert database_fingerprint() == before


def test_the_importer_refuses_a_pattern_re2_cannot_run(tmp_path, flow):
    before = database_fingerprint()
    message = import_one(tmp_path, flow, schema_with("(?=a)a"), {"x": "a"})
    assert (
        f"deployments[0].parameter_openapi_schema: {INVALID_PREFIX}The pattern '(?=a)a' "
        f"{RE2_REFUSAL} (invalid perl operator: (?=)." in message
    )
    assert database_fingerprint() == before
