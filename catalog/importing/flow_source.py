"""What `prefect deploy` (Prefect 3.9.1) derives from a flow, read from its source file.

`read_flow("flows/etl.py:daily_etl", base_dir)` parses the file with `ast` and gives the
flow's name, description, version and `parameter_openapi_schema` exactly as Prefect would,
without importing or executing anything. Prefect's rules, checked against the real client
(`scripts/capture_flow_schemas.py`):

- name: `@flow(name=...)` if truthy, else the function name with `_` replaced by `-`;
- description: `@flow(description=...)` if truthy, else the docstring cleaned by
  `inspect.cleandoc` (an empty docstring gives `""`, none gives `None`);
- version: `@flow(version=...)` if truthy, else the MD5 hex digest of the file's bytes;
- schema: pydantic's JSON schema of the signature (keys sorted as pydantic sorts them),
  each property with `title` and `position`, a parameter's `description` taken from the
  last Google-style `Args:` section of the docstring (griffe's rules), `*args` as a list
  and `**kwargs` as a dict, dumped as `model_dump(exclude_unset=True)`: `required` and
  `definitions` only when not empty.

Static reading has limits; where the truth needs the running code it does the closest:

- a name that is not a type this module knows (an imported class, a pydantic model, a
  dataclass, a TypedDict, an imported Enum) gives `{}`, which is what Prefect gives for a
  plain class; Enums defined in the same file with literal values become `definitions`;
- a default is computed when it is made of literals, module constants, enum members,
  arithmetic, naive `date`/`datetime`/`time` from integers, `float("inf")` or an empty
  `list()`, `dict()`, `set()`, `frozenset()` or `tuple()`; any other default, or one
  pydantic would write in an order that depends on hashing (a set of mixed types, a set
  inside a container) or with keys it cannot be sure of (floats, tuples), is left out of
  the schema, so the parameter stays optional, rather than guessed;
- when a string annotation (or any, under `from __future__ import annotations`) names
  something the module does not bind, Prefect reads every string annotation unevaluated
  and pydantic resolves it with builtins and `typing` alone (as it always resolves a
  string nested in an annotation, `list["int"]`); both are reproduced;
- `@flow(name=...)` or `description=...` that is not a constant string is read as absent,
  and a `version=` that is not a constant string gives the file hash;
- only `file.py:function` entrypoints are read, and only functions defined at the top
  level of the file (also inside top-level `if`/`try`/`with`); a function whose
  decorators include no `@flow` is refused, as Prefect refuses it.
"""

import ast
import builtins
import datetime
import hashlib
import inspect
import json
import operator
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLOW_DECORATORS = frozenset({"prefect.flow", "prefect.flows.flow"})
BANNED_NAME_CHARACTERS = ("/", "%", "&", ">", "<")
RESERVED_PARAMETERS = ("return_state", "wait_for")
# Prefect leaves these out of the schema: they are passed implicitly to methods.
IMPLICIT_PARAMETERS = ("self", "cls")
PARAMETER_SECTIONS = frozenset({"args", "arguments", "params", "parameters"})
# Every Google docstring section griffe knows; each one consumes its indented block.
DOCSTRING_SECTIONS = PARAMETER_SECTIONS | {
    "keyword args",
    "keyword arguments",
    "other args",
    "other arguments",
    "other params",
    "other parameters",
    "type args",
    "type arguments",
    "type params",
    "type parameters",
    "raises",
    "exceptions",
    "returns",
    "yields",
    "receives",
    "examples",
    "attributes",
    "functions",
    "methods",
    "classes",
    "type aliases",
    "modules",
    "warns",
    "warnings",
}
_SECTION_HEADER = re.compile(r"^(?P<kind>\w[\w\s-]*):(?:\s+\S.*)?\s*$", re.IGNORECASE)

# Names pydantic can still resolve when Prefect falls back to unevaluated annotations.
FALLBACK_NAMES = {"typing": "typing", "t": "typing"}
CANONICAL = {
    "collections.abc.Sequence": "typing.Sequence",
    "collections.abc.Mapping": "typing.Mapping",
    "typing_extensions.Literal": "typing.Literal",
    "typing_extensions.Annotated": "typing.Annotated",
    "typing_extensions.Any": "typing.Any",
}
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
ENUM_BASES = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum"})
NULL_SCHEMA = {"type": "null"}
LOCAL = "<local>"
MAX_CONSTANT_DEPTH = 20
MAX_EXPONENT = 1000
# Naive dates and times from integer arguments; pydantic writes them as isoformat() does.
TEMPORAL_TYPES = {
    "datetime.date": datetime.date,
    "datetime.datetime": datetime.datetime,
    "datetime.time": datetime.time,
}
ARITHMETIC = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class FlowSourceError(ValueError):
    """The flow's file cannot be read as Prefect would read it (bad syntax, not a flow)."""


@dataclass(frozen=True)
class FlowInfo:
    name: str
    description: str | None
    version: str | None
    parameter_openapi_schema: dict


@dataclass(frozen=True)
class EnumMember:
    value: Any


@dataclass
class Module:
    """What the module binds at its top level, as far as static reading tells."""

    path: Path
    names: dict[str, str] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    enums: dict[str, ast.ClassDef] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    future_annotations: bool = False
    star_import: bool = False


@dataclass
class Scope:
    """How annotations resolve: the module's names, or the fallback's builtins and typing."""

    module: Module
    names: dict[str, str]
    definitions: dict[str, dict] = field(default_factory=dict)
    expanding: set[str] = field(default_factory=set)


class Unresolved(Exception):
    """A value or annotation static reading cannot know."""


# Reading the file ------------------------------------------------------------------------


def read_flow(entrypoint: str, base_dir: Path) -> FlowInfo | None:
    """The flow at `path/to/file.py:function` (relative to `base_dir`), None if it is absent."""
    if ":" not in entrypoint:
        return None
    file_part, function_name = entrypoint.rsplit(":", 1)
    path = Path(base_dir) / file_part
    if not path.is_file():
        return None
    source = path.read_bytes()
    module = scan_module(parse_source(source, path), path)
    function = module.functions.get(function_name)
    if function is None:
        return None
    return flow_info(function, module, hashlib.md5(source, usedforsecurity=False).hexdigest())


def parse_source(source: bytes, path: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise FlowSourceError(f"{path}, line {exc.lineno}: {exc.msg}") from exc
    except ValueError as exc:
        raise FlowSourceError(f"{path}: {exc}") from exc


def flow_info(
    function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module, file_hash: str
) -> FlowInfo:
    options = flow_options(function, module)
    name = constant_string(options.get("name"), module) or function.name.replace("_", "-")
    check_flow(function, module, name)
    docstring = ast.get_docstring(function, clean=True)
    return FlowInfo(
        name=name,
        description=constant_string(options.get("description"), module) or docstring,
        version=constant_string(options.get("version"), module) or file_hash,
        parameter_openapi_schema=parameter_schema(function, module, docstring),
    )


def flow_options(
    function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module
) -> dict[str, ast.expr]:
    """The keyword arguments of the function's `@flow` decorator."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if is_flow_decorator(target, module):
            if not isinstance(decorator, ast.Call):
                return {}
            return {kw.arg: kw.value for kw in decorator.keywords if kw.arg}
    raise FlowSourceError(
        f"{module.path}, line {function.lineno}: {function.name!r} is not a flow: "
        "it is not decorated with '@flow'"
    )


def is_flow_decorator(node: ast.expr, module: Module) -> bool:
    qualified = qualified_name(node, module.names)
    if qualified is None:
        # An unbound `flow` can only come from a star import of prefect.
        return isinstance(node, ast.Name) and node.id == "flow"
    return qualified in FLOW_DECORATORS


def check_flow(function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module, name: str) -> None:
    """The checks Prefect makes when it builds the flow, with its messages."""
    where = f"{module.path}, line {function.lineno}"
    if any(character in name for character in BANNED_NAME_CHARACTERS):
        raise FlowSourceError(
            f"{where}: Name {name!r} contains an invalid character. "
            f"Must not contain any of: {list(BANNED_NAME_CHARACTERS)}."
        )
    for parameter in all_arguments(function.args):
        if parameter.arg in RESERVED_PARAMETERS:
            raise FlowSourceError(
                f"{where}: {parameter.arg!r} is a reserved argument name and cannot be used."
            )


def constant_string(node: ast.expr | None, module: Module) -> str | None:
    try:
        value = static_value(node, module) if node is not None else None
    except Unresolved:
        return None
    return value if isinstance(value, str) else None


# The module's top-level bindings ---------------------------------------------------------


def scan_module(tree: ast.Module, path: Path) -> Module:
    module = Module(path=path)
    for statement in top_level_statements(tree.body):
        bind_statement(statement, module)
    return module


def top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run on import, in order; `if TYPE_CHECKING:` bodies never do."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            if not is_type_checking(statement.test):
                yield from top_level_statements(statement.body)
            yield from top_level_statements(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from top_level_statements(block)
            for handler in statement.handlers:
                yield from top_level_statements(handler.body)
        elif isinstance(statement, ast.With):
            yield from top_level_statements(statement.body)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def bind_statement(statement: ast.stmt, module: Module) -> None:
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            root = alias.name.split(".")[0]
            bind(module, alias.asname or root, alias.name if alias.asname else root)
    elif isinstance(statement, ast.ImportFrom):
        bind_import_from(statement, module)
    elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
        bind(module, statement.name, f"{LOCAL}.{statement.name}")
        module.functions[statement.name] = statement
    elif isinstance(statement, ast.ClassDef):
        bind(module, statement.name, f"{LOCAL}.{statement.name}")
        if is_enum_class(statement, module):
            module.enums[statement.name] = statement
    elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        bind_assignment(statement, module)


def bind_import_from(statement: ast.ImportFrom, module: Module) -> None:
    source = "." * statement.level + (statement.module or "")
    for alias in statement.names:
        if statement.module == "__future__":
            module.future_annotations |= alias.name == "annotations"
        elif alias.name == "*":
            module.star_import = True
        else:
            bind(module, alias.asname or alias.name, f"{source}.{alias.name}")


def bind_assignment(statement: ast.Assign | ast.AnnAssign | ast.AugAssign, module: Module) -> None:
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                bind(module, node.id, f"{LOCAL}.{node.id}")
        is_simple = isinstance(target, ast.Name) and not isinstance(statement, ast.AugAssign)
        if is_simple and statement.value is not None:
            module.constants[target.id] = statement.value


def bind(module: Module, name: str, qualified: str) -> None:
    """A new binding replaces whatever the name meant before."""
    module.names[name] = qualified
    for table in (module.constants, module.enums, module.functions):
        table.pop(name, None)


def is_enum_class(node: ast.ClassDef, module: Module) -> bool:
    bases = [qualified_name(base, module.names) for base in node.bases]
    return any(base in ENUM_BASES for base in bases) and enum_members(node) is not None


def enum_members(node: ast.ClassDef) -> dict[str, Any] | None:
    """Each member's value, an alias taking its original's; None when one is not a literal."""
    members: dict[str, Any] = {}
    for statement in node.body:
        if not isinstance(statement, ast.Assign) or len(statement.targets) != 1:
            continue
        target = statement.targets[0]
        if not isinstance(target, ast.Name) or target.id.startswith("_"):
            continue
        try:
            value = literal(statement.value)
        except Unresolved:
            return None
        members[target.id] = next((v for v in members.values() if v == value), value)
    return members


def qualified_name(node: ast.expr, names: dict[str, str]) -> str | None:
    """`datetime.date` for `dt.date` after `import datetime as dt`; None when unbound."""
    if isinstance(node, ast.Name):
        if node.id in names:
            return CANONICAL.get(names[node.id], names[node.id])
        return f"builtins.{node.id}" if hasattr(builtins, node.id) else None
    if isinstance(node, ast.Attribute):
        base = qualified_name(node.value, names)
        if base is None:
            return None
        return CANONICAL.get(f"{base}.{node.attr}", f"{base}.{node.attr}")
    return None


# Docstrings: parameter descriptions as griffe's Google parser finds them -----------------


def parameter_descriptions(docstring: str | None) -> dict[str, str]:
    """The last `Args:` (or `Arguments:`, `Params:`, `Parameters:`) section, by name."""
    if not docstring:
        return {}
    lines = inspect.cleandoc(docstring.rstrip()).split("\n")
    descriptions: dict[str, str] = {}
    offset, in_code = 0, False
    while offset < len(lines):
        line = lines[offset]
        if line.lstrip(" ").startswith("```"):
            in_code = not in_code
        elif not in_code and is_section_header(lines, offset):
            kind = _SECTION_HEADER.match(line)["kind"].lower()
            offset, items = read_section(lines, offset + 1, kind)
            if kind in PARAMETER_SECTIONS:
                descriptions = described_parameters(items)
        offset += 1
    return descriptions


def is_blank(line: str) -> bool:
    return not line or line.isspace()


def is_section_header(lines: list[str], offset: int) -> bool:
    """`Word:` with a blank line above and indented content right below."""
    if not _SECTION_HEADER.match(lines[offset]):
        return False
    blank_above = offset == 0 or is_blank(lines[offset - 1])
    blank_below = offset + 1 < len(lines) and is_blank(lines[offset + 1])
    indented_below = indented_at(lines, offset + 1)
    indented_two_below = indented_at(lines, offset + 2)
    if not (indented_below or indented_two_below) or not blank_above:
        return False
    return not (indented_two_below and blank_below)


def indented_at(lines: list[str], offset: int) -> bool:
    return offset < len(lines) and not is_blank(lines[offset]) and lines[offset].startswith(" ")


def read_section(lines: list[str], offset: int, kind: str) -> tuple[int, list[list[str]]]:
    """The offset of the section's last line, and its items (for item sections)."""
    if kind in DOCSTRING_SECTIONS and kind != "examples":
        return read_items(lines, offset)
    return read_block_end(lines, offset), []


def read_items(lines: list[str], offset: int) -> tuple[int, list[list[str]]]:
    """Items start at the block's indent; deeper lines continue the current item."""
    while offset < len(lines) and is_blank(lines[offset]):
        offset += 1
    if offset >= len(lines):
        return offset - 1, []
    indent = len(lines[offset]) - len(lines[offset].lstrip())
    if indent == 0:
        return offset - 1, []
    items = [[lines[offset][indent:]]]
    offset += 1
    while in_block(lines, offset, indent):
        items_add_line(items, lines[offset], indent)
        offset += 1
    return offset - 1, items


def in_block(lines: list[str], offset: int, indent: int) -> bool:
    return offset < len(lines) and (
        lines[offset].startswith(" " * indent) or is_blank(lines[offset])
    )


def items_add_line(items: list[list[str]], line: str, indent: int) -> None:
    if is_blank(line):
        items[-1].append("")
    elif line.startswith(" " * (indent * 2)):
        items[-1].append(line[indent * 2 :])
    elif line.startswith(" " * (indent + 1)):
        items[-1].append(line.lstrip())
    else:
        items.append([line[indent:]])


def read_block_end(lines: list[str], offset: int) -> int:
    start = offset
    while offset < len(lines) and is_blank(lines[offset]):
        offset += 1
    if offset >= len(lines):
        return start - 1
    indent = len(lines[offset]) - len(lines[offset].lstrip())
    if indent == 0:
        return start - 1
    offset += 1
    while in_block(lines, offset, indent):
        offset += 1
    return offset - 1


def described_parameters(items: list[list[str]]) -> dict[str, str]:
    descriptions: dict[str, str] = {}
    for first, *rest in items:
        if ":" not in first:
            continue
        name, description = first.split(":", 1)
        if "(" in name and name.endswith(")"):
            name = name.split("(", 1)[0].strip()
        descriptions[name] = "\n".join([description.lstrip(), *rest]).rstrip("\n")
    return descriptions


# The parameter schema --------------------------------------------------------------------


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
    function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module, docstring: str | None
) -> dict:
    scope = Scope(module, module.names)
    fallback = uses_fallback(function, module)
    descriptions = parameter_descriptions(docstring)
    properties: dict[str, dict] = {}
    required: list[str] = []
    for position, parameter in enumerate(signature_parameters(function.args)):
        if parameter.name in IMPLICIT_PARAMETERS:
            continue
        schema = dict(parameter_type_schema(parameter, scope, fallback))
        schema.update(field_keys(parameter, module, descriptions.get(parameter.name), position))
        properties[parameter.name] = schema
        if parameter.kind == "plain" and is_required(parameter):
            required.append(parameter.name)
    return assemble_schema(properties, required, scope.definitions)


def assemble_schema(properties: dict, required: list[str], definitions: dict) -> dict:
    schema: dict[str, Any] = {"title": "Parameters", "type": "object"}
    schema["properties"] = pydantic_sorted({"properties": properties})["properties"]
    if required:
        schema["required"] = required
    if definitions:
        schema["definitions"] = pydantic_sorted({"$defs": definitions})["$defs"]
    return schema


def field_keys(
    parameter: Parameter, module: Module, description: str | None, position: int
) -> dict[str, Any]:
    """What Prefect's field adds to the type's schema, in pydantic's order."""
    keys: dict[str, Any] = {}
    default = default_value(parameter, module)
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


def default_value(parameter: Parameter, module: Module) -> tuple[Any] | None:
    """The default as pydantic writes it in the schema, in a 1-tuple; None to leave it out."""
    if parameter.kind != "plain":
        return ([] if parameter.kind == "varargs" else {},)
    if is_required(parameter):
        return None
    try:
        return (jsonable(static_value(parameter.default, module), top=True),)
    except Unresolved:
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


def parse_annotation(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        return None


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


def forward_scope(scope: Scope) -> Scope:
    """pydantic resolves forward references with builtins and `typing` only."""
    return Scope(scope.module, FALLBACK_NAMES, scope.definitions)


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


# Annotations -----------------------------------------------------------------------------


def annotation_schema(node: ast.expr, scope: Scope) -> dict:
    """pydantic's JSON schema for an annotation; `{}` for what static reading cannot know."""
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
    if qualified.startswith(f"{LOCAL}.") and scope.names is scope.module.names:
        return local_schema(qualified.removeprefix(f"{LOCAL}."), scope)
    return {}


def local_schema(name: str, scope: Scope) -> dict:
    """An enum defined in the file, or an alias such as `Mode = Literal["a", "b"]`."""
    alias = scope.module.constants.get(name)
    if alias is None or name in scope.expanding:
        return enum_reference(name, scope)
    scope.expanding.add(name)
    try:
        return annotation_schema(alias, scope)
    finally:
        scope.expanding.discard(name)


def enum_reference(name: str, scope: Scope) -> dict:
    node = scope.module.enums.get(name)
    if node is None:
        return {}
    scope.definitions[name] = enum_definition(node)
    return {"$ref": f"#/definitions/{name}"}


def enum_definition(node: ast.ClassDef) -> dict:
    values = [jsonable(value) for value in (enum_members(node) or {}).values()]
    definition: dict[str, Any] = {"title": node.name}
    docstring = ast.get_docstring(node, clean=True)
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


def generic_schema(node: ast.Subscript, scope: Scope) -> dict:
    qualified = qualified_name(node.value, scope.names)
    arguments = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if qualified in ("typing.Optional", "typing.Union"):
        return union_schema([node], scope)
    if qualified == "typing.Literal":
        return literal_schema(arguments, scope)
    if qualified == "typing.Annotated":
        return annotation_schema(arguments[0], scope)
    if qualified in LIST_TYPES:
        return {"type": "array", "items": annotation_schema(arguments[0], scope)}
    if qualified in SET_TYPES:
        items = annotation_schema(arguments[0], scope)
        return {"type": "array", "uniqueItems": True, "items": items}
    if qualified in TUPLE_TYPES:
        return tuple_schema(arguments, scope)
    if qualified in DICT_TYPES and len(arguments) == 2:
        return dict_schema(arguments[0], arguments[1], scope)
    return {}


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


# Values ----------------------------------------------------------------------------------


def static_value(node: ast.expr, module: Module, depth: int = 0) -> Any:
    """The value of a literal expression, module constant, enum member or simple call."""
    if depth > MAX_CONSTANT_DEPTH:
        raise Unresolved
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        return arithmetic(node, module, depth)
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return container_value(node, module, depth)
    if isinstance(node, ast.Dict):
        return dict_value(node, module, depth)
    if isinstance(node, ast.Name) and node.id in module.constants:
        return static_value(module.constants[node.id], module, depth + 1)
    if isinstance(node, ast.Attribute):
        return enum_member(node, module)
    if isinstance(node, ast.Call):
        return call_value(node, module)
    raise Unresolved


def arithmetic(node: ast.UnaryOp | ast.BinOp, module: Module, depth: int) -> Any:
    """Numbers computed as Python computes them (`60 * 60`, `10**6`, `-1`, `1+2j`)."""
    operands = [node.operand] if isinstance(node, ast.UnaryOp) else [node.left, node.right]
    values = [static_value(operand, module, depth) for operand in operands]
    operation = ARITHMETIC.get(type(node.op))
    is_number = all(type(value) in (int, float, complex) for value in values)
    both_text = isinstance(node.op, ast.Add) and all(type(value) is str for value in values)
    if operation is None or not (is_number or both_text):
        raise Unresolved
    if isinstance(node.op, ast.Pow) and abs(values[1]) > MAX_EXPONENT:
        raise Unresolved
    try:
        return operation(*values)
    except (ArithmeticError, ValueError) as exc:
        raise Unresolved from exc


def literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise Unresolved from exc


def container_value(node: ast.List | ast.Tuple | ast.Set, module: Module, depth: int) -> Any:
    items = [static_value(element, module, depth) for element in node.elts]
    if isinstance(node, ast.List):
        return items
    if isinstance(node, ast.Tuple):
        return tuple(items)
    try:
        return set(items)
    except TypeError as exc:
        raise Unresolved from exc


def dict_value(node: ast.Dict, module: Module, depth: int) -> dict:
    if any(key is None for key in node.keys):
        raise Unresolved  # a `**mapping` unpacking
    try:
        return {
            static_value(key, module, depth): static_value(value, module, depth)
            for key, value in zip(node.keys, node.values, strict=True)
        }
    except TypeError as exc:
        raise Unresolved from exc


def enum_member(node: ast.Attribute, module: Module) -> EnumMember:
    if isinstance(node.value, ast.Name) and node.value.id in module.enums:
        members = enum_members(module.enums[node.value.id]) or {}
        if node.attr in members:
            return EnumMember(members[node.attr])
    raise Unresolved


def call_value(node: ast.Call, module: Module) -> Any:
    qualified = qualified_name(node.func, module.names)
    if node.keywords:
        raise Unresolved
    arguments = [literal(argument) for argument in node.args]
    temporal = TEMPORAL_TYPES.get(qualified or "")
    if temporal and all(type(argument) is int for argument in arguments):
        try:
            return temporal(*arguments)
        except (TypeError, ValueError, OverflowError) as exc:
            raise Unresolved from exc
    if qualified == "builtins.float" and len(arguments) == 1 and isinstance(arguments[0], str):
        try:
            return float(arguments[0])
        except ValueError as exc:
            raise Unresolved from exc
    empty = {
        "builtins.list": [],
        "builtins.dict": {},
        "builtins.tuple": (),
        "builtins.set": set(),
        "builtins.frozenset": frozenset(),
    }
    if qualified in empty and not arguments:
        return empty[qualified]
    raise Unresolved


def jsonable(value: Any, top: bool = False) -> Any:
    """A value as pydantic writes a default in JSON mode."""
    if isinstance(value, EnumMember):
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, complex):
        return str(value).removeprefix("(").removesuffix(")")
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError as exc:
            raise Unresolved from exc
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, set | frozenset):
        return jsonable_set(value, top)
    if isinstance(value, dict):
        return {json_key(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    raise Unresolved


def jsonable_set(value: set | frozenset, top: bool) -> list:
    """pydantic sorts a set default; a nested set keeps hash order, which is not knowable."""
    if len(value) <= 1:
        return [jsonable(item) for item in value]
    if not top:
        raise Unresolved
    try:
        return [jsonable(item) for item in sorted(value)]
    except TypeError as exc:
        raise Unresolved from exc


def json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) or key is None:
        return str(key)
    raise Unresolved


def pydantic_sorted(value: Any, parent_key: str | None = None) -> Any:
    """Keys sorted alphabetically, except directly under `properties` and `default`."""
    if isinstance(value, list):
        return [pydantic_sorted(item, parent_key) for item in value]
    if not isinstance(value, dict):
        return value
    keys = list(value) if parent_key in ("properties", "default") else sorted(value)
    return {key: pydantic_sorted(value[key], key) for key in keys}
