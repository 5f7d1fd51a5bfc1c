"""Classes of the project's own files as pydantic describes them: enums, pydantic models,
dataclasses and TypedDicts become `definitions`, referred to by `$ref`.

A class is read, never built: its bases (`BaseModel`, `Enum`, `TypedDict`, a class of the
project that is one of those), its `@dataclass` decorator, the annotated names of its
body and their defaults or `Field(...)`/`field(...)` calls. Pydantic's rules, checked
against the real Prefect (`scripts/capture_flow_schemas.py`):

- a definition is named after the class; a model's title is its `model_config` title or
  its name, its description the cleaned docstring (not a dataclass's generated one);
- fields keep their order, a subclass's fields after its bases' (one it redefines keeps
  its place); each field's title is its name (or alias) title-cased, except a field
  that is a model, enum, dataclass or TypedDict, optional or not, which has none;
- `Field` constraints go to the field's type (inside an `Optional`); a default is
  written as pydantic writes it, a model instance in full; `default_factory` writes none;
- `extra="forbid"` gives `additionalProperties: false`, `"allow"` gives `true`.

Definitions are built one after the other from a list (`Reading.pending`), so models that
refer to themselves, or to each other, end as pydantic ends them: with a `$ref`.
"""

import ast
import sys
from typing import Any

from catalog.importing.flow_source.module import (
    ENUM_BASES,
    Module,
    Scope,
    Unresolved,
    qualified_name,
)
from catalog.importing.flow_source.project import Elsewhere, ProjectClass
from catalog.importing.flow_source.values import jsonable, literal_size, static_value

MODEL_BASES = frozenset({"pydantic.BaseModel", "pydantic.main.BaseModel"})
TYPED_DICT_BASES = frozenset({"typing.TypedDict", "typing_extensions.TypedDict"})
DATACLASS_DECORATORS = frozenset(
    {"dataclasses.dataclass", "pydantic.dataclasses.dataclass", "pydantic.dataclass"}
)
FIELD_CALLS = frozenset({"pydantic.Field", "pydantic.fields.Field", "dataclasses.field"})
MIXIN_BASES = frozenset({"builtins.object", "builtins.str", "builtins.int", "builtins.float"})
CUSTOM_SCHEMA_METHODS = frozenset(
    {"__get_pydantic_core_schema__", "__get_pydantic_json_schema__", "__get_validators__"}
)
CONSTRAINTS = {
    "integer": {"gt": "exclusiveMinimum", "ge": "minimum", "lt": "exclusiveMaximum"},
    "string": {"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern"},
    "array": {"min_length": "minItems", "max_length": "maxItems"},
    "object": {"min_length": "minProperties", "max_length": "maxProperties"},
}
CONSTRAINTS["integer"].update({"le": "maximum", "multiple_of": "multipleOf"})
CONSTRAINTS["number"] = CONSTRAINTS["integer"]
ANNOTATION_KEYS = ("title", "description", "examples", "deprecated")
# Keywords that change nothing in the validation schema.
QUIET_KEYWORDS = frozenset(
    {
        "exclude",
        "exclude_if",
        "frozen",
        "validate_default",
        "repr",
        "init",
        "init_var",
        "kw_only",
        "strict",
        "serialization_alias",
        "hash",
        "compare",
        "metadata",
        "fail_fast",
    }
)
QUIET_CONFIG = frozenset(
    {
        "frozen",
        "populate_by_name",
        "validate_by_name",
        "validate_assignment",
        "arbitrary_types_allowed",
        "from_attributes",
        "use_enum_values",
        "validate_default",
        "protected_namespaces",
        "revalidate_instances",
        "str_strip_whitespace",
        "ser_json_timedelta",
        "ser_json_bytes",
    }
)
MAX_BASES = 20  # classes up an inheritance chain


def class_kind(cls: ProjectClass, depth: int = 0) -> str | None:
    """ "enum", "model", "dataclass", "typeddict" or "plain"; None for what static reading
    cannot tell (a base from outside the project, an unknown decorator, a class that
    makes its own schema)."""
    module, node = cls.module, cls.node
    if depth > MAX_BASES or (node.keywords and not is_typed_dict_keywords(node)):
        return None
    kinds = {base_kind(base, module, depth) for base in node.bases}
    decorators = [qualified_name(decorator_target(d), module.names) for d in node.decorator_list]
    if None in kinds or any(d not in DATACLASS_DECORATORS for d in decorators):
        return None
    if any(isinstance(s, ast.FunctionDef) and s.name in CUSTOM_SCHEMA_METHODS for s in node.body):
        return None
    kinds.discard("plain")
    if decorators:
        return "dataclass" if kinds <= {"dataclass"} else None
    if len(kinds) > 1:
        return None
    return kinds.pop() if kinds else "plain"


def is_typed_dict_keywords(node: ast.ClassDef) -> bool:
    return all(keyword.arg == "total" for keyword in node.keywords)


def decorator_target(decorator: ast.expr) -> ast.expr:
    return decorator.func if isinstance(decorator, ast.Call) else decorator


def base_kind(base: ast.expr, module: Module, depth: int) -> str | None:
    qualified = qualified_name(base, module.names)
    if qualified in ENUM_BASES:
        return "enum"
    if qualified in MODEL_BASES:
        return "model"
    if qualified in TYPED_DICT_BASES:
        return "typeddict"
    if qualified in MIXIN_BASES:
        return "plain"
    if qualified is None or module.project is None:
        return None
    found = module.project.resolve(qualified, module)
    return None if isinstance(found, Elsewhere) else class_kind(found, depth + 1)


def project_class_schema(found: ProjectClass | Elsewhere, scope: Scope) -> dict:
    """The schema of a name that is not one of typing's: `$ref` to a definition, `{}`
    for a plain class; `{}` and a warning for what static reading cannot describe."""
    reading = scope.reading
    if isinstance(found, Elsewhere):
        if found.qualified.split(".")[0] in sys.stdlib_module_names:
            reading.warn(f"static reading cannot describe {found.qualified!r}")
        elif found.outside:
            reading.warn(
                f"{found.qualified!r} is not defined in the project folder, so its schema is "
                "left open ({}) as Prefect leaves a type it cannot describe"
            )
        else:
            reading.warn(f"{found.qualified!r} is not a class static reading can describe")
        return {}
    kind = class_kind(found)
    if kind == "plain":
        return {}
    name = found.node.name
    if kind is None or (kind == "enum" and name not in found.module.enum_values):
        reading.warn(f"class {name!r} is not one static reading can describe")
        return {}
    known = reading.classes.setdefault(name, found.key)
    if known != found.key:
        reading.warn(f"two classes are named {name!r}; pydantic would rename their definitions")
        return {}
    if name not in scope.definitions:
        scope.definitions[name] = {}
        if kind == "enum":
            scope.definitions[name].update(enum_definition(found, reading))
        else:
            reading.pending.append((found, kind))
    return {"$ref": f"#/definitions/{name}"}


def enum_definition(cls: ProjectClass, reading) -> dict:
    members = cls.module.enum_values[cls.node.name]
    reading.budget.spend(literal_size(list(members.values())), cls.node)
    values = [jsonable(value) for value in members.values()]
    definition: dict[str, Any] = {"title": cls.node.name}
    docstring = ast.get_docstring(cls.node, clean=True)
    if docstring:
        definition["description"] = docstring
    definition["enum"] = values
    value_type = json_type({type(value) for value in values})
    if value_type:
        definition["type"] = value_type
    return definition


def json_type(types: set[type]) -> str | None:
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array"}
    if len(types) != 1:
        return None
    (only,) = types
    return "null" if only is type(None) else names.get(only)


def is_reference(schema: dict) -> bool:
    """A model, enum, dataclass or TypedDict, optional or not: pydantic gives it no title."""
    members = schema.get("anyOf", [])
    is_optional = len(members) == 2 and members[1] == {"type": "null"} and len(schema) == 1
    return "$ref" in schema or (is_optional and "$ref" in members[0])


def field_keywords(call: ast.Call | None, module: Module) -> dict[str, ast.expr] | None:
    """The keywords of a `Field(...)` or `field(...)` call, its first argument as
    `default`; None when the node is not such a call."""
    if not isinstance(call, ast.Call):
        return None
    if qualified_name(call.func, module.names) not in FIELD_CALLS:
        return None
    keywords = {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    if call.args:
        keywords.setdefault("default", call.args[0])
    return keywords


def constrained(schema: dict, keywords: dict[str, ast.expr], module: Module, reading) -> dict:
    """The type's schema with `Field`'s constraints, inside an `Optional` as pydantic
    puts them; a constraint the type does not take is left out, with a warning."""
    members = schema.get("anyOf", [])
    is_optional = len(members) == 2 and members[1] == {"type": "null"}
    target = members[0] if is_optional else schema
    accepted = CONSTRAINTS.get(target.get("type"), {})
    for keyword in [
        k
        for k in keywords
        if k in CONSTRAINTS["integer"] or k in ("min_length", "max_length", "pattern")
    ]:
        if keyword not in accepted:
            reading.warn(
                f"the constraint {keyword}= is left out: static reading cannot apply it here"
            )
            continue
        try:
            target[accepted[keyword]] = jsonable(static_value(keywords[keyword], module))
        except Unresolved:
            reading.warn(f"the constraint {keyword}= is left out: its value is not a constant")
    return schema
