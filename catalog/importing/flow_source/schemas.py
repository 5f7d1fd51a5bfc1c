"""pydantic's JSON schema for one annotation: scalars, generics, unions, literals, tuples, dicts.

Aliases and classes of the project's files resolve too (`classes`); a name static
reading cannot describe gives `{}` and a warning.
"""

import ast
import json
from dataclasses import replace
from typing import Any

from catalog.importing.flow_source.classes import (
    ANNOTATION_KEYS,
    constrained,
    field_keywords,
    json_type,
    project_class_schema,
)
from catalog.importing.flow_source.module import Scope, Unresolved, qualified_name
from catalog.importing.flow_source.project import Alias
from catalog.importing.flow_source.values import jsonable, static_value

# Names pydantic can still resolve when Prefect falls back to unevaluated annotations.
FALLBACK_NAMES = {"typing": "typing", "t": "typing"}
SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "builtins.str": {"type": "string"},
    "builtins.int": {"type": "integer"},
    "builtins.float": {"type": "number"},
    "builtins.bool": {"type": "boolean"},
    "builtins.bytes": {"type": "string", "format": "binary"},
    "builtins.complex": {"type": "string"},
    "builtins.object": {},
    "typing.Any": {},
    "datetime.date": {"type": "string", "format": "date"},
    "datetime.datetime": {"type": "string", "format": "date-time"},
    "datetime.time": {"type": "string", "format": "time"},
    "datetime.timedelta": {"type": "string", "format": "duration"},
    "uuid.UUID": {"type": "string", "format": "uuid"},
    "pathlib.Path": {"type": "string", "format": "path"},
    "decimal.Decimal": {"anyOf": [{"type": "number"}, {"type": "string"}]},
}
LIST_TYPES = frozenset({"builtins.list", "typing.List", "typing.Sequence"})
SET_TYPES = frozenset({"builtins.set", "builtins.frozenset", "typing.Set", "typing.FrozenSet"})
TUPLE_TYPES = frozenset({"builtins.tuple", "typing.Tuple"})
DICT_TYPES = frozenset({"builtins.dict", "typing.Dict", "typing.Mapping"})
NULL_SCHEMA = {"type": "null"}
# A part of an annotation costs as much as ten characters of a default: reading it makes
# a schema of several keys (a 1,000,000 budget unfolds 100,000 parts in about a second).
ANNOTATION_PART_SIZE = 10


def parse_annotation(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


def forward_scope(scope: Scope) -> Scope:
    """pydantic resolves a flow's forward references with builtins and `typing` only, a
    model's with its module's names."""
    if scope.own_strings:
        return scope
    return replace(scope, names=FALLBACK_NAMES)


def annotation_schema(node: ast.expr, scope: Scope) -> dict:
    """pydantic's JSON schema for an annotation; `{}` for what static reading cannot know.
    Each part of it, aliases unfolded, spends from the module's reading budget."""
    budget = scope.reading.budget if scope.reading is not None else scope.module.budget
    budget.enter(node)
    try:
        budget.spend(ANNOTATION_PART_SIZE, node)
        return part_schema(node, scope)
    finally:
        budget.leave()


def part_schema(node: ast.expr, scope: Scope) -> dict:
    if isinstance(node, ast.Constant):
        return constant_annotation_schema(node.value, scope)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return union_schema([node], scope)
    if isinstance(node, ast.Subscript):
        return generic_schema(node, scope)
    qualified = qualified_name(node, scope.names)
    if qualified is None:
        return {}
    return named_schema(qualified, scope)


def constant_annotation_schema(value: Any, scope: Scope) -> dict:
    if value is None:
        return dict(NULL_SCHEMA)
    if isinstance(value, str) and (expression := parse_annotation(value)) is not None:
        return annotation_schema(expression, forward_scope(scope))
    return {}


def named_schema(qualified: str, scope: Scope) -> dict:
    if qualified in SCALAR_SCHEMAS:
        return json.loads(json.dumps(SCALAR_SCHEMAS[qualified]))
    if qualified in LIST_TYPES:
        return {"type": "array", "items": {}}
    if qualified in SET_TYPES:
        return {"type": "array", "uniqueItems": True, "items": {}}
    if qualified in TUPLE_TYPES:
        return {"type": "array", "items": {}}
    if qualified in DICT_TYPES:
        return {"type": "object", "additionalProperties": True}
    if scope.names is scope.module.names:
        return project_schema(qualified, scope)
    return {}


def project_schema(qualified: str, scope: Scope) -> dict:
    """A name the flow's file binds: an alias unfolded, a class of the project's files
    described by `classes`; a name from elsewhere `{}` with a warning."""
    project = scope.module.project
    if project is None:
        return {}
    found = project.resolve(qualified, scope.module)
    if not isinstance(found, Alias):
        return project_class_schema(found, scope)
    key = (found.module.path, found.name)
    if key in scope.expanding:
        return {}
    scope.expanding.add(key)
    try:
        inner = replace(scope, module=found.module, names=found.module.names)
        return annotation_schema(found.module.constants[found.name], inner)
    finally:
        scope.expanding.discard(key)


def generic_schema(node: ast.Subscript, scope: Scope) -> dict:
    qualified = qualified_name(node.value, scope.names)
    arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if qualified in ("typing.Optional", "typing.Union"):
        return union_schema([node], scope)
    if qualified == "typing.Literal":
        return literal_schema(arguments, scope)
    if qualified == "typing.Annotated":
        return annotated_schema(arguments, scope)
    if qualified in LIST_TYPES:
        return {"type": "array", "items": annotation_schema(arguments[0], scope)}
    if qualified in SET_TYPES:
        items = annotation_schema(arguments[0], scope)
        return {"type": "array", "uniqueItems": True, "items": items}
    if qualified in TUPLE_TYPES:
        return tuple_schema(arguments, scope)
    if qualified in DICT_TYPES and len(arguments) == 2:
        return dict_schema(arguments[0], arguments[1], scope)
    if scope.reading is not None:
        scope.reading.warn(f"static reading cannot describe {ast.unparse(node)!r}")
    return {}


def annotated_schema(arguments: list[ast.expr], scope: Scope) -> dict:
    """`Annotated[T, Field(...)]`: T's schema with the constraints and annotations of
    the `Field`s; other metadata changes nothing."""
    schema = dict(annotation_schema(arguments[0], scope))
    keywords: dict[str, ast.expr] = {}
    for item in arguments[1:]:
        keywords.update(field_keywords(item, scope.module) or {})
    if keywords and scope.reading is not None:
        schema = constrained(schema, keywords, scope.module, scope.reading)
        for key in ANNOTATION_KEYS:
            if key in keywords:
                try:
                    schema[key] = jsonable(static_value(keywords[key], scope.module))
                except Unresolved:
                    scope.reading.warn(f"its {key}= is left out: it is not a constant")
    return schema


def union_members(node: ast.expr, scope: Scope) -> list[ast.expr]:
    """Nested unions flatten, as typing flattens them."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return union_members(node.left, scope) + union_members(node.right, scope)
    if isinstance(node, ast.Subscript):
        qualified = qualified_name(node.value, scope.names)
        if qualified in ("typing.Optional", "typing.Union"):
            elements = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            members = [m for element in elements for m in union_members(element, scope)]
            none = [ast.Constant(None)] if qualified == "typing.Optional" else []
            return members + none
    return [node]


def union_schema(nodes: list[ast.expr], scope: Scope) -> dict:
    """A union with None is pydantic's nullable: the other members, then `null` last."""
    members = [member for node in nodes for member in union_members(node, scope)]
    others = [m for m in members if not (isinstance(m, ast.Constant) and m.value is None)]
    if not others:
        return dict(NULL_SCHEMA)
    schemas = [annotation_schema(member, scope) for member in others]
    inner = schemas[0] if len(schemas) == 1 else any_of(schemas)
    if len(others) == len(members) or inner == NULL_SCHEMA:
        return inner
    return any_of([inner, dict(NULL_SCHEMA)])


def any_of(schemas: list[dict]) -> dict:
    flat = [s for schema in schemas for s in flattened_members(schema)]
    unique = list({json.dumps(schema, sort_keys=True): schema for schema in flat}.values())
    return unique[0] if len(unique) == 1 else {"anyOf": unique}


def flattened_members(schema: dict) -> list[dict]:
    return schema["anyOf"] if len(schema) == 1 and "anyOf" in schema else [schema]


def literal_schema(arguments: list[ast.expr], scope: Scope) -> dict:
    try:
        values = literal_values(arguments, scope)
    except Unresolved:
        return {}
    schema: dict[str, Any] = {"const": values[0]} if len(values) == 1 else {"enum": values}
    value_type = json_type({type(value) for value in values})
    if value_type:
        schema["type"] = value_type
    return schema


def literal_values(arguments: list[ast.expr], scope: Scope) -> list[Any]:
    """Literal's values, nested Literals flattened and repeats dropped as typing drops them."""
    values: list[Any] = []
    for argument in arguments:
        is_nested = isinstance(argument, ast.Subscript) and (
            qualified_name(argument.value, scope.names) == "typing.Literal"
        )
        if is_nested:
            nested = argument.slice
            inner = nested.elts if isinstance(nested, ast.Tuple) else [nested]
            values.extend(literal_values(inner, scope))
        else:
            values.append(jsonable(static_value(argument, scope.module)))
    unique: list[Any] = []
    for value in values:
        if not any(type(value) is type(seen) and value == seen for seen in unique):
            unique.append(value)
    return unique


def tuple_schema(arguments: list[ast.expr], scope: Scope) -> dict:
    if len(arguments) == 1 and isinstance(arguments[0], ast.Tuple) and not arguments[0].elts:
        arguments = []  # tuple[()]
    is_variadic = len(arguments) == 2 and is_ellipsis(arguments[1])
    if is_variadic:
        return {"type": "array", "items": annotation_schema(arguments[0], scope)}
    schema: dict[str, Any] = {"type": "array"}
    if arguments:
        schema["prefixItems"] = [annotation_schema(argument, scope) for argument in arguments]
    schema["minItems"] = schema["maxItems"] = len(arguments)
    return schema


def is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis


def dict_schema(keys: ast.expr, values: ast.expr, scope: Scope) -> dict:
    schema: dict[str, Any] = {"type": "object"}
    values_schema = annotation_schema(values, scope)
    schema["additionalProperties"] = values_schema or True
    keys_schema = annotation_schema(keys, scope)
    is_constrained = keys_schema.get("type") == "string" and len(keys_schema) > 1
    if is_constrained or "$ref" in keys_schema:
        keys_schema.pop("type", None)
        schema["propertyNames"] = keys_schema
    return schema
