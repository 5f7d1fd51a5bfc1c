"""A flow's `parameter_openapi_schema`, built from its signature as Prefect builds it.

Each parameter's type schema, default, title, description and position; `required` and
`definitions`; and how Prefect and pydantic resolve string annotations (the fallback to
builtins and `typing` when one names something the module does not bind).
"""

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from catalog.importing.flow_source.definitions import Reading, default_json
from catalog.importing.flow_source.docstrings import parameter_descriptions
from catalog.importing.flow_source.module import Module, Scope, Unresolved, qualified_name
from catalog.importing.flow_source.schemas import (
    FALLBACK_NAMES,
    annotation_schema,
    forward_scope,
    parse_annotation,
)
from catalog.importing.flow_source.values import pydantic_sorted

# Prefect leaves these out of the schema: they are passed implicitly to methods.
IMPLICIT_PARAMETERS = ("self", "cls")


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: ast.expr | None
    default: ast.expr | None
    kind: str = "plain"  # or "varargs", "varkwargs"


def all_arguments(args: ast.arguments) -> list[ast.arg]:
    variadic = [arg for arg in (args.vararg, args.kwarg) if arg]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *variadic]


def signature_parameters(args: ast.arguments) -> list[Parameter]:
    """Parameters in `inspect.signature` order: positional, *args, keyword-only, **kwargs."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    parameters = [
        Parameter(a.arg, a.annotation, d) for a, d in zip(positional, defaults, strict=True)
    ]
    if args.vararg:
        parameters.append(Parameter(args.vararg.arg, args.vararg.annotation, None, "varargs"))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parameters.append(Parameter(arg.arg, arg.annotation, default))
    if args.kwarg:
        parameters.append(Parameter(args.kwarg.arg, args.kwarg.annotation, None, "varkwargs"))
    return parameters


def parameter_schema(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    module: Module,
    docstring: str | None,
    reading: Reading,
) -> dict:
    """The schema; what static reading could not describe as Prefect would is left
    open (or out, for a default) and said in `reading.warnings`."""
    scope = Scope(module, module.names, reading=reading)
    fallback = uses_fallback(function, module)
    descriptions = parameter_descriptions(docstring)
    properties: dict[str, dict] = {}
    required: list[str] = []
    for position, parameter in enumerate(signature_parameters(function.args)):
        if parameter.name in IMPLICIT_PARAMETERS:
            continue
        reading.context = [f"parameter {parameter.name!r}"]
        schema = dict(parameter_type_schema(parameter, scope, fallback))
        if is_annotated(parameter.annotation, module):
            schema.pop("description", None)  # Prefect's own Field sets it, to None
        description = descriptions.get(parameter.name)
        schema.update(field_keys(parameter, scope, description, position))
        properties[parameter.name] = schema
        if parameter.kind == "plain" and is_required(parameter):
            required.append(parameter.name)
        reading.build_pending(scope.definitions)
    reading.context = []
    return assemble_schema(properties, required, scope.definitions)


def is_annotated(annotation: ast.expr | None, module: Module) -> bool:
    return isinstance(annotation, ast.Subscript) and (
        qualified_name(annotation.value, module.names) == "typing.Annotated"
    )


def assemble_schema(properties: dict, required: list[str], definitions: dict) -> dict:
    schema: dict[str, Any] = {"title": "Parameters", "type": "object"}
    schema["properties"] = pydantic_sorted({"properties": properties})["properties"]
    if required:
        schema["required"] = required
    if definitions:
        schema["definitions"] = pydantic_sorted({"$defs": definitions})["$defs"]
    return schema


def field_keys(
    parameter: Parameter, scope: Scope, description: str | None, position: int
) -> dict[str, Any]:
    """What Prefect's field adds to the type's schema, in pydantic's order."""
    keys: dict[str, Any] = {}
    default = default_value(parameter, scope.module, scope.reading)
    if default is not None:
        keys["default"] = default[0]
    keys["title"] = parameter.name
    if description is not None:
        keys["description"] = description
    keys["position"] = position
    return keys


def parameter_type_schema(parameter: Parameter, scope: Scope, fallback: bool) -> dict:
    item = annotation_for(parameter.annotation, scope, fallback)
    if parameter.kind == "varargs":
        return {"type": "array", "items": item}
    if parameter.kind == "varkwargs":
        return {"type": "object", "additionalProperties": item or True}
    return item


def is_required(parameter: Parameter) -> bool:
    default = parameter.default
    return default is None or (isinstance(default, ast.Constant) and default.value is Ellipsis)


def default_value(parameter: Parameter, module: Module, reading: Reading) -> tuple[Any] | None:
    """The default as pydantic writes it in the schema, in a 1-tuple; None to leave it out."""
    if parameter.kind != "plain":
        return ([] if parameter.kind == "varargs" else {},)
    if is_required(parameter):
        return None
    try:
        return (default_json(parameter.default, module, top=True),)
    except Unresolved:
        reading.warn("its default is left out: static reading cannot compute it")
        return None


def is_string_annotation(annotation: ast.expr, module: Module) -> bool:
    is_string = isinstance(annotation, ast.Constant) and isinstance(annotation.value, str)
    return module.future_annotations or is_string


def uses_fallback(function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module) -> bool:
    """Prefect reads annotations unevaluated when evaluating a string one fails."""
    if module.star_import:
        return False
    annotations = [arg.annotation for arg in all_arguments(function.args)] + [function.returns]
    for annotation in annotations:
        if annotation is None or not is_string_annotation(annotation, module):
            continue
        expression = string_annotation(annotation, module)
        if expression is not None and has_unbound_name(expression, module.names):
            return True
    return False


def string_annotation(annotation: ast.expr, module: Module) -> ast.expr | None:
    """The expression a string annotation holds (the annotation itself under the future)."""
    if module.future_annotations:
        return annotation
    return parse_annotation(annotation.value)


def has_unbound_name(expression: ast.expr, names: dict[str, str]) -> bool:
    return any(
        isinstance(node, ast.Name) and node.id not in names and not hasattr(builtins, node.id)
        for node in ast.walk(expression)
    )


def annotation_for(annotation: ast.expr | None, scope: Scope, fallback: bool) -> dict:
    """A parameter's annotation schema, resolving strings where Prefect and pydantic do."""
    if annotation is None:
        return {}
    if is_string_annotation(annotation, scope.module):
        expression = string_annotation(annotation, scope.module)
        if expression is None:
            return {}
        if fallback:
            return resolved_schema(expression, forward_scope(scope))
        annotation = expression
    return resolved_schema(annotation, scope)


def resolved_schema(expression: ast.expr, scope: Scope) -> dict:
    """One forward reference pydantic cannot resolve makes the whole annotation `Any`."""
    if scope.names is FALLBACK_NAMES and has_unbound_name(expression, FALLBACK_NAMES):
        return {}
    if not forward_references_resolve(expression, scope.names):
        return {}
    return annotation_schema(expression, scope)


def forward_references_resolve(expression: ast.expr, names: dict[str, str]) -> bool:
    for text in forward_references(expression, names):
        inner = parse_annotation(text)
        if inner is None or has_unbound_name(inner, FALLBACK_NAMES):
            return False
        if not forward_references_resolve(inner, FALLBACK_NAMES):
            return False
    return True


def is_special_form(node: ast.Subscript, names: dict[str, str]) -> bool:
    return qualified_name(node.value, names) in ("typing.Literal", "typing.Annotated")


def annotated_references(node: ast.Subscript, names: dict[str, str]) -> Iterator[str]:
    """Literal holds values and Annotated's metadata is not a type: no references there."""
    if qualified_name(node.value, names) == "typing.Annotated":
        arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        yield from forward_references(arguments[0], names)


def forward_references(node: ast.expr, names: dict[str, str]) -> Iterator[str]:
    """The strings inside an annotation, which typing keeps as forward references."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Subscript) and is_special_form(node, names):
        yield from annotated_references(node, names)
    else:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                yield from forward_references(child, names)
