"""What a parsed module binds at its top level, and the qualified name behind each name.

Imports, functions, classes (enum classes with literal members kept apart) and simple
assignments, in the order they run on import; also what the other modules share: the
`Scope` annotations resolve in, `EnumMember`, and `Unresolved` for what static reading
cannot know.
"""

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANONICAL = {
    "collections.abc.Sequence": "typing.Sequence",
    "collections.abc.Mapping": "typing.Mapping",
    "typing_extensions.Literal": "typing.Literal",
    "typing_extensions.Annotated": "typing.Annotated",
    "typing_extensions.Any": "typing.Any",
}
ENUM_BASES = frozenset({"enum.Enum", "enum.StrEnum", "enum.IntEnum"})
LOCAL = "<local>"


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


def literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise Unresolved from exc
