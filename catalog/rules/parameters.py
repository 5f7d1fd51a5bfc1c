"""Checking parameters (and job variables) against a JSON schema, as Prefect checks them.

Two flavours exist in Prefect and both are kept, because their answers differ:

- on create, the plain check: jsonschema with the schema's own draft;
- on update and for job variables, the "preprocessed" check: Draft 2020-12, after fixing
  the shapes pydantic v1 wrote for optional fields (`{"type": X}` becomes X-or-null) and
  for tuples.

Both ignore `required` (partial parameters are fine) and never fetch remote `$ref`s, and
both run the schema's patterns with RE2 (`catalog.rules.schema_patterns`).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from functools import lru_cache
from typing import Any

import jsonschema
import jsonschema_rs
import referencing
import referencing.exceptions

from catalog.rules import schema_patterns
from catalog.rules.schema_cost import schema_weight, values_count
from catalog.rules.schema_patterns import (
    CheckTooCostly,
    PatternRefused,
    TextTooLongForPattern,
    uses_keywords,
)

# The Rust validator is some hundred times faster than `jsonschema`: it takes the checks
# whose weight (`schema_cost`) is within this many times the metered path's budget.
FAST_PATH_FACTOR = 100


class ParameterSchemaError(ValueError):
    pass


class CircularSchemaError(ParameterSchemaError):
    pass


class SchemaPatternError(ParameterSchemaError):
    """The schema has a pattern the catalog does not run (`schema_patterns`)."""


def without_required(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: without_required(value) for key, value in schema.items() if key != "required"}
    if isinstance(schema, list):
        return [without_required(item) for item in schema]
    return schema


def describe(error: jsonschema.ValidationError) -> str:
    where = (
        "Validation failed."
        if error.json_path == "$"
        else f"Validation failed for field {error.json_path.replace('$.', '')!r}."
    )
    return f"{where} Failure reason: {error.message}"


SCHEMA_NAME = "parameter_openapi_schema"


def check_parameters(parameters: Any, schema: Any, *, schema_name: str = SCHEMA_NAME) -> None:
    """The check Prefect runs on create when `enforce_parameter_schema` is sent as true."""
    if schema is None or parameters is None:
        return
    with answered_as_parameter_errors(schema_name), schema_patterns.check_budget():
        validate_in_schema_draft(parameters, without_required(schema))


@contextmanager
def answered_as_parameter_errors(schema_name: str) -> Iterator[None]:
    """Every way a check of values against a schema fails, as the `ParameterSchemaError`
    whose message Prefect answers with."""
    try:
        yield
    except referencing.exceptions.Unresolvable as exc:
        raise ParameterSchemaError(f"Validation failed. Failure reason: {exc}") from exc
    except jsonschema.ValidationError as exc:
        raise ParameterSchemaError(describe(exc)) from exc
    except jsonschema.SchemaError as exc:
        raise invalid_schema(exc) from exc
    except PatternRefused as exc:
        raise invalid_pattern(exc, schema_name) from None
    except (TextTooLongForPattern, CheckTooCostly) as exc:
        raise ParameterSchemaError(f"Validation failed. Failure reason: {exc}") from None


def validate_in_schema_draft(values: Any, schema: Any) -> None:
    """`jsonschema.validate`: the schema's own draft (2020-12 without `$schema`), its
    schema checked first, then the best error raised; with patterns run by RE2."""
    schema_patterns.refuse_unevaluated_with_pattern_properties(schema)
    cls = schema_patterns.linear_for(schema, jsonschema.Draft202012Validator)
    schema_patterns.check_schema(cls, schema)
    validator = cls(schema, registry=referencing.Registry())
    error = jsonschema.exceptions.best_match(validator.iter_errors(values))
    if error is not None:
        raise error


def invalid_schema(exc: jsonschema.SchemaError) -> ParameterSchemaError:
    return ParameterSchemaError(
        f"The provided schema is not a valid json schema. Schema error: {exc.message}"
    )


def invalid_pattern(exc: PatternRefused, schema_name: str) -> SchemaPatternError:
    return SchemaPatternError(
        f"The provided schema is not a valid json schema. {schema_name}: {exc}"
    )


def set_pattern_budget(budget: schema_patterns.PatternBudget) -> None:
    """The budget of the schemas' patterns (from the settings); the schemas checked under
    another budget are checked again."""
    if budget != schema_patterns.BUDGET:
        schema_patterns.set_budget(budget)
        valid_schema.cache_clear()
        prepared_validator.cache_clear()


def schema_key(schema: Any) -> str:
    """A schema's text, by which its checks are kept once made."""
    return json.dumps(schema, separators=(",", ":"))


def check_schema(schema: Any, key: str | None = None, *, schema_name: str = SCHEMA_NAME) -> None:
    if schema is None:
        return
    try:
        valid_schema(key or schema_key(schema))
    except jsonschema.SchemaError as exc:
        raise invalid_schema(exc) from exc
    except PatternRefused as exc:
        raise invalid_pattern(exc, schema_name) from None


def check_parameters_preprocessed(
    values: dict,
    schema: dict,
    *,
    allow_none_with_default: bool = False,
    key: str | None = None,
    schema_name: str = SCHEMA_NAME,
) -> None:
    """The check Prefect runs on update and on job variables (what `jsonschema.validate`
    does, with the prepared validator of each schema made once: imports check thousands
    of deployments against a handful of schemas)."""
    try:
        with answered_as_parameter_errors(schema_name):
            key = key or schema_key(schema)
            if surely_valid(values, key, allow_none_with_default):
                return
            validator = prepared_validator(key, allow_none_with_default)
            with schema_patterns.check_budget():
                error = jsonschema.exceptions.best_match(validator.iter_errors(values))
            if error is not None:
                raise error
    except RecursionError:
        raise CircularSchemaError(
            "Invalid schema: Unable to validate schema with circular references."
        ) from None


# Keywords whose meaning the Rust validator and Python's `jsonschema` may not share to the
# letter (float arithmetic, dynamic references, and the regex engines: jsonschema-rs reads
# patterns as ECMA-262, where `\s` takes U+00A0 and `\v`, and RE2 does not): a schema with
# any of them is checked by `jsonschema` alone.
SLOW_PATH_KEYWORDS = frozenset(
    {"pattern", "patternProperties", "multipleOf", "$dynamicRef", "$recursiveRef"}
)


def surely_valid(values: Any, key: str, allow_none_with_default: bool) -> bool:
    """The fast path: jsonschema-rs, some hundred times faster, may only say "valid";
    anything else goes to `jsonschema`, whose answer and messages are Prefect's."""
    validator = fast_validator(key, allow_none_with_default)
    if validator is None or not light_enough_for_rust(values, key):
        return False
    try:
        return validator.is_valid(values)
    except (ValueError, OverflowError, TypeError):
        return False


def light_enough_for_rust(values: Any, key: str) -> bool:
    bound = FAST_PATH_FACTOR * schema_patterns.BUDGET.max_check_steps
    return schema_weight(key) * values_count(values) <= bound


@lru_cache(maxsize=256)
def fast_validator(schema_text: str, allow_none_with_default: bool):
    prepared = without_required(preprocess(json.loads(schema_text), allow_none_with_default))
    if uses_keywords(prepared, SLOW_PATH_KEYWORDS):
        return None
    try:
        return jsonschema_rs.Draft202012Validator(
            prepared, validate_formats=False, retriever=no_remote_references
        )
    except (ValueError, jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError):
        return None


def no_remote_references(uri: str):
    raise ValueError(f"remote references are not followed: {uri}")


@lru_cache(maxsize=256)
def prepared_validator(schema_text: str, allow_none_with_default: bool):
    prepared = without_required(preprocess(json.loads(schema_text), allow_none_with_default))
    schema_patterns.refuse_unevaluated_with_pattern_properties(prepared)
    cls = schema_patterns.linear(jsonschema.Draft202012Validator)
    schema_patterns.check_schema(cls, prepared)
    return cls(prepared, registry=referencing.Registry())


@lru_cache(maxsize=256)
def valid_schema(schema_text: str) -> bool:
    """Checked once a schema: the check walks the whole metaschema."""
    schema = json.loads(schema_text)
    schema_patterns.refuse_unevaluated_with_pattern_properties(schema)
    schema_patterns.check_schema(schema_patterns.linear(jsonschema.Draft202012Validator), schema)
    return True


def preprocess(schema: dict, allow_none_with_default: bool = False) -> dict:
    schema = deepcopy(schema)
    if "properties" in schema:
        fix_properties(schema["properties"], schema.get("required", []), allow_none_with_default)
    for definition in (schema.get("definitions") or {}).values():
        if isinstance(definition, dict) and "properties" in definition:
            fix_properties(
                definition["properties"], definition.get("required", []), allow_none_with_default
            )
    return schema


def fix_properties(properties: dict, required: list, allow_none_with_default: bool) -> None:
    for key, field_schema in properties.items():
        if not isinstance(field_schema, dict):
            continue
        optional = key not in required
        if (
            optional
            and "type" in field_schema
            and field_schema.get("type") != "null"
            and ("default" not in field_schema or allow_none_with_default)
        ):
            field_schema["anyOf"] = [{"type": field_schema.pop("type")}, {"type": "null"}]
        items = field_schema.get("items")
        if isinstance(items, list) and items and not field_schema.get("prefixItems"):
            field_schema["prefixItems"] = field_schema.pop("items")
        if "properties" in field_schema:
            fix_properties(
                field_schema["properties"],
                field_schema.get("required", []),
                allow_none_with_default,
            )
