"""Parameters against their schema (`catalog.rules.parameters`): the fast path may only
ever say "valid" where `jsonschema`, whose answers are Prefect's, says so too."""

import jsonschema
import pytest
import referencing
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.rules import parameters

# Schemas as `prefect deploy` writes them for flows: scalars, lists, unions with null,
# enums and pydantic models by `$ref`, nested objects, tuples.
SCHEMAS = [
    {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "day": {"title": "day", "type": "string", "format": "date", "position": 0},
            "batch": {"title": "batch", "default": 100, "type": "integer", "position": 1},
            "regions": {"title": "regions", "type": "array", "items": {"type": "string"}},
            "ratio": {"title": "ratio", "type": "number", "minimum": 0, "maximum": 1},
            "dry_run": {"title": "dry_run", "default": False, "type": "boolean"},
        },
        "required": ["day"],
    },
    {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "recipients": {"type": "array", "items": {"$ref": "#/definitions/Recipient"}},
            "level": {"$ref": "#/definitions/Level"},
        },
        "definitions": {
            "Recipient": {
                "type": "object",
                "properties": {"email": {"type": "string"}, "weight": {"type": "integer"}},
                "required": ["email"],
            },
            "Level": {"enum": ["low", "high"], "type": "string"},
        },
    },
    {
        "type": "object",
        "properties": {
            "pair": {"type": "array", "items": [{"type": "integer"}, {"type": "string"}]},
            "options": {"type": "object", "additionalProperties": {"type": "integer"}},
            "name": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]},
        },
    },
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)
keys = st.sampled_from(["day", "batch", "regions", "ratio", "dry_run", "recipients", "level"])
parameter_sets = st.dictionaries(keys | st.sampled_from(["pair", "options", "name"]), json_values)


def jsonschema_says_valid(values, schema) -> bool:
    prepared = parameters.without_required(parameters.preprocess(schema))
    validator = jsonschema.Draft202012Validator(prepared, registry=referencing.Registry())
    return validator.is_valid(values)


@pytest.mark.parametrize("schema", SCHEMAS, ids=["scalars", "models", "tuples"])
@settings(max_examples=300, deadline=None)
@given(values=parameter_sets)
def test_the_fast_path_never_passes_what_jsonschema_refuses(schema, values):
    key = parameters.schema_key(schema)
    if parameters.surely_valid(values, key, False):
        assert jsonschema_says_valid(values, schema)


@pytest.mark.parametrize("schema", SCHEMAS, ids=["scalars", "models", "tuples"])
def test_each_schema_has_a_fast_validator(schema):
    assert parameters.fast_validator(parameters.schema_key(schema), False) is not None


def test_a_schema_with_a_pattern_is_checked_by_jsonschema_alone():
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^a+$"}}}
    assert parameters.fast_validator(parameters.schema_key(schema), False) is None
    with pytest.raises(parameters.ParameterSchemaError, match="does not match"):
        parameters.check_parameters_preprocessed({"code": "b"}, schema)


def test_a_remote_reference_is_never_fetched():
    schema = {"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}}
    assert parameters.fast_validator(parameters.schema_key(schema), False) is None
    with pytest.raises(parameters.ParameterSchemaError) as refused:
        parameters.check_parameters_preprocessed({"x": 1}, schema)
    assert str(refused.value) == (
        "Validation failed. Failure reason: Unresolvable: https://example.com/s.json"
    )


def test_refused_parameters_are_described_as_prefect_describes_them():
    with pytest.raises(parameters.ParameterSchemaError) as refused:
        parameters.check_parameters_preprocessed({"day": "x", "batch": "many"}, SCHEMAS[0])
    assert str(refused.value) == (
        "Validation failed for field 'batch'. Failure reason: 'many' is not of type 'integer'"
    )
