"""A default's value, computed statically, written to JSON as pydantic writes it.

Literals, module constants, enum members, arithmetic and a few calls; anything else is
`Unresolved`. `pydantic_sorted` orders a schema's keys as pydantic does.
"""

import ast
import datetime
import math
import operator
from typing import Any

from catalog.importing.flow_source.module import (
    EnumMember,
    Module,
    Unresolved,
    literal,
    qualified_name,
)

MAX_CONSTANT_DEPTH = 20
MAX_EXPONENT = 1000
LOG10_2 = math.log10(2)
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


def static_value(node: ast.expr, module: Module, depth: int = 0) -> Any:
    """The value of a literal expression, module constant, enum member or simple call,
    within the module's reading budget (its nesting, and the size of all it computes)."""
    if depth > MAX_CONSTANT_DEPTH:
        raise Unresolved
    module.budget.enter(node)
    try:
        value = evaluated(node, module, depth)
    finally:
        module.budget.leave()
    module.budget.spend(own_size(value), node)
    return value


def evaluated(node: ast.expr, module: Module, depth: int) -> Any:
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


def own_size(value: Any) -> int:
    """What a value adds to the budget beyond its items, which were counted as made:
    a character of text, a digit of a number, one for anything else."""
    if isinstance(value, str | bytes):
        return max(len(value), 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return digits(value)
    if isinstance(value, EnumMember):
        return literal_size(value.value)
    return 1


def literal_size(value: Any) -> int:
    """The whole size of a literal's value (an enum member's), items and all."""
    if isinstance(value, dict):
        return 1 + sum(literal_size(k) + literal_size(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return 1 + sum(literal_size(item) for item in value)
    return own_size(value)


def digits(number: int) -> int:
    """A number's decimal digits, near enough, without writing it out."""
    return int(abs(number).bit_length() * LOG10_2) + 1


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
    module.budget.affords(result_size(node.op, values), node)
    try:
        return operation(*values)
    except (ArithmeticError, ValueError) as exc:
        raise Unresolved from exc


def result_size(operator_node: ast.operator | ast.unaryop, values: list[Any]) -> int:
    """An upper bound of what an operation makes, known before making it: text and whole
    numbers may grow past any budget (`(10**1000)**1000`); floats cannot."""
    if all(type(value) is str for value in values):
        return sum(len(value) for value in values)
    if not all(type(value) is int for value in values):
        return 1
    sizes = [digits(value) for value in values]
    if isinstance(operator_node, ast.Pow):
        base, exponent = values
        return 1 if exponent < 0 or abs(base) <= 1 else int(exponent * math.log10(abs(base))) + 1
    if isinstance(operator_node, ast.Mult):
        return sum(sizes)
    return max(sizes) + 1


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
    """`Color.RED`, the enum defined in the file or imported from another of the
    project's files (`module.project` finds it)."""
    if isinstance(node.value, ast.Name) and node.value.id in module.enum_values:
        members = module.enum_values[node.value.id]
    else:
        members = imported_enum_values(node.value, module)
    if node.attr in members:
        return EnumMember(members[node.attr])
    raise Unresolved


def imported_enum_values(node: ast.expr, module: Module) -> dict[str, Any]:
    qualified = qualified_name(node, module.names)
    if qualified is None or module.project is None:
        return {}
    found = module.project.resolve(qualified, module)
    enums = getattr(getattr(found, "module", None), "enum_values", {})
    return enums.get(getattr(found, "node", None) and found.node.name, {})


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
