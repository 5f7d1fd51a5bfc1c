"""The cost of checking parameters against their schema: every keyword `jsonschema`
evaluates is counted against `CATALOG_SCHEMA_CHECK_BUDGET`, and the Rust fast path takes
only the checks whose weight it can bear (README, "Security")."""

import json

import pytest
from django.conf import settings

from catalog.rules import parameters, schema_patterns
from catalog.rules.schema_cost import schema_weight, values_count
from tests.factories import DeploymentFactory, FlowFactory
from tests.replay import database_fingerprint
from tests.test_write_doors import DOORS, Case, Rows

pytestmark = pytest.mark.django_db

BUDGET = settings.CATALOG_SCHEMA_CHECK_BUDGET
TOO_COSTLY = (
    f"Validation failed. Failure reason: checking the values against the schema takes more "
    f"than {BUDGET:,} steps (CATALOG_SCHEMA_CHECK_BUDGET)"
)


@pytest.fixture
def rows() -> Rows:
    flow = FlowFactory(name="check-budget-flow")
    return Rows(flow, DeploymentFactory(flow=flow, name="check-budget-existing"), None)


def nested_references(levels: int, width: int = 10) -> dict:
    """`x0` is `allOf` `width` references to `x1`, … to an integer: width**levels keywords
    for one value, in a schema of a few hundred bytes."""
    definitions = {
        f"x{level}": {"allOf": [{"$ref": f"#/definitions/x{level + 1}"}] * width}
        for level in range(levels)
    }
    definitions[f"x{levels}"] = {"type": "integer"}
    return {
        "type": "object",
        "definitions": definitions,
        "properties": {"a": {"$ref": "#/definitions/x0"}},
    }


def integers_schema() -> dict:
    return {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}}


def steps_to_check(values: dict, schema: dict) -> int:
    """What the metered path spends on a check that finds the values valid."""
    validator = parameters.prepared_validator(parameters.schema_key(schema), False)
    with schema_patterns.check_budget() as meter:
        assert validator.is_valid(values)
    return meter.spent


def test_the_production_budget_is_the_default():
    assert BUDGET == 50_000 == schema_patterns.BUDGET.max_check_steps


def test_a_schema_weighs_what_its_references_unfold_to():
    assert schema_weight(json.dumps(nested_references(9))) > 10**9
    assert len(json.dumps(nested_references(9))) < 3000
    recursive = {
        "definitions": {"t": {"items": {"$ref": "#/definitions/t"}}},
        "$ref": "#/definitions/t",
    }
    assert schema_weight(json.dumps(recursive)) == 4
    assert values_count({"a": [1, [2, 3]], "b": {"c": None}}) == 8


@pytest.mark.parametrize("levels", [7, 9])
def test_nested_references_stop_at_the_budget_on_update(api_client, levels):
    deployment = DeploymentFactory(
        enforce_parameter_schema=True, parameter_openapi_schema=nested_references(levels)
    )
    before = database_fingerprint()
    response = api_client.patch(
        f"/api/deployments/{deployment.id}",
        json.dumps({"parameters": {"a": 1}}),
        content_type="application/json",
    )
    assert response.status_code == 409
    assert response.json() == {"detail": f"Error updating deployment: {TOO_COSTLY}"}
    assert database_fingerprint() == before


def test_nested_references_stop_at_the_budget_on_create(api_client):
    body = {
        "name": "heavy",
        "flow_id": str(FlowFactory().id),
        "enforce_parameter_schema": True,
        "parameter_openapi_schema": nested_references(9),
        "parameters": {"a": "not an integer"},
    }
    before = database_fingerprint()
    response = api_client.post(
        "/api/deployments/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 422
    [error] = response.json()["exception_detail"]
    assert error["msg"].removeprefix("Value error, ") == TOO_COSTLY
    assert database_fingerprint() == before


def test_a_light_schema_still_takes_the_fast_path():
    schema = nested_references(4)
    key = parameters.schema_key(schema)
    assert parameters.light_enough_for_rust({"a": 1}, key)
    assert parameters.surely_valid({"a": 1}, key, False)


def test_a_heavy_schema_skips_the_fast_path_for_the_metered_one():
    key = parameters.schema_key(nested_references(9))
    assert not parameters.light_enough_for_rust({"a": 1}, key)
    assert not parameters.surely_valid({"a": 1}, key, False)


def test_a_check_at_the_budget_passes_and_one_step_past_it_is_refused():
    schema = integers_schema()
    base = steps_to_check({"a": []}, schema)
    # Each integer in the list costs one `type` keyword.
    count = BUDGET - base
    assert steps_to_check({"a": [1] * count}, schema) == BUDGET
    with pytest.raises(parameters.ParameterSchemaError) as refused:
        # Off the schema, so the Rust fast path cannot settle it first.
        parameters.check_parameters_preprocessed({"a": [1] * count + ["x"]}, schema)
    assert str(refused.value) == TOO_COSTLY
    with pytest.raises(parameters.ParameterSchemaError) as off_schema:
        parameters.check_parameters_preprocessed({"a": [1] * (count // 2 - 1) + ["x"]}, schema)
    assert "is not of type 'integer'" in str(off_schema.value)


@pytest.mark.parametrize("door", DOORS)
def test_every_door_stops_a_costly_check_at_the_budget_and_stores_nothing(request, rows, door):
    heavy = {"enforce_parameter_schema": True, "parameter_openapi_schema": nested_references(9)}
    case = Case(
        "deployment.parameters-check-too-costly",
        ("parameters",),
        {"a": 1},
        {},
        heavy,
        api_message="CATALOG_SCHEMA_CHECK_BUDGET",
    )
    through = DOORS[door](request, rows)
    before = database_fingerprint()
    answer = through.send(case, case.bad)
    assert through.refusal(answer, case) is None
    assert database_fingerprint() == before
    text = answer if door == "importer" else answer.content.decode()
    assert "CATALOG_SCHEMA_CHECK_BUDGET" in text
