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
    "pydantic.main.BaseModel": "pydantic.BaseModel",
    "pydantic.fields.Field": "pydantic.Field",
    "typing_extensions.TypedDict": "typing.TypedDict",
    "typing_extensions.NotRequired": "typing.NotRequired",
    "typing_extensions.Required": "typing.Required",
    "typing_extensions.Optional": "typing.Optional",
    "typing_extensions.Union": "typing.Union",
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


class SourceTooCostly(Exception):
    """Reading the file would cost past a budget; the message names it, `node` is where."""

    def __init__(self, message: str, node: ast.AST | None = None) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class ReadingBudget:
    """What reading one flow file may compute (README "Security"): values and schemas of
    at most `max_value_size` in all, nesting at most `max_depth` levels through names."""

    max_value_size: int = 1_000_000
    max_depth: int = 100
    spent: int = 0
    depth: int = 0

    def spend(self, units: int, node: ast.AST | None = None) -> None:
        self.spent += units
        if self.spent > self.max_value_size:
            raise SourceTooCostly(
                f"the values and annotations it reads come to more than {self.max_value_size:,} "
                "characters, digits and items (CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE)",
                node,
            )

    def affords(self, units: int, node: ast.AST) -> None:
        """Refuse, before computing it, a value that would take the budget past its end."""
        if self.spent + units > self.max_value_size:
            self.spend(units, node)

    def enter(self, node: ast.AST) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise SourceTooCostly(too_deep(self.max_depth), node)

    def leave(self) -> None:
        self.depth -= 1


def too_deep(max_depth: int) -> str:
    return f"nested too deeply: more than {max_depth} levels (CATALOG_FLOW_SOURCE_MAX_DEPTH)"


@dataclass
class Module:
    """What the module binds at its top level, as far as static reading tells."""

    path: Path
    budget: ReadingBudget = field(default_factory=ReadingBudget)
    names: dict[str, str] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    enums: dict[str, ast.ClassDef] = field(default_factory=dict)
    # Each enum's members, read once: a member is named far more often than defined.
    enum_values: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    future_annotations: bool = False
    star_import: bool = False
    # The folders relative imports search, one entry a level: `.x` looks in the first
    # entry's folders, `..x` in the second's (set when an import finds the module).
    packages: tuple[tuple[Path, ...], ...] = ()
    project: Any = None  # the `project.Project` of the flow being read


@dataclass
class Scope:
    """How annotations resolve: the module's names, or the fallback's builtins and typing;
    `reading` (a `project.Reading`) finds classes in the project's other files, keeps the
    definitions the flow's schema shares, and the warnings."""

    module: Module
    names: dict[str, str]
    definitions: dict[str, dict] = field(default_factory=dict)
    expanding: set[tuple[Path, str]] = field(default_factory=set)
    reading: Any = None
    # A model's string annotations resolve with its module's names, a flow's as Prefect
    # and pydantic resolve them (`forward_scope`).
    own_strings: bool = False


class Unresolved(Exception):
    """A value or annotation static reading cannot know."""


def scan_module(tree: ast.Module, path: Path, budget: ReadingBudget | None = None) -> Module:
    budget = budget or ReadingBudget()
    check_expression_depth(tree, budget.max_depth)
    module = Module(path=path, budget=budget)
    for statement in top_level_statements(tree.body):
        bind_statement(statement, module)
    return module


def check_expression_depth(tree: ast.Module, max_depth: int) -> None:
    """Every expression nests at most `max_depth` levels, so the readers that walk one
    (each level a few frames of Python's stack) never run out of stack."""
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise SourceTooCostly(too_deep(max_depth), node)
        for child in ast.iter_child_nodes(node):
            stack.append((child, expression_depth(child, depth)))


def expression_depth(node: ast.AST, parent_depth: int) -> int:
    """How deep a node sits in its expression: a statement starts again at 0, and the
    wrappers that are not expressions (arguments, keywords) add no level."""
    if isinstance(node, ast.stmt | ast.excepthandler | ast.match_case):
        return 0
    return parent_depth + isinstance(node, ast.expr)


def top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run on import, in order; `if TYPE_CHECKING:` bodies never do.
    Walked with a stack: a chain of a thousand `elif`s is a thousand levels deep."""
    pending: list[ast.stmt] = list(reversed(body))
    while pending:
        statement = pending.pop()
        yield statement
        pending.extend(reversed(inner_statements(statement)))


def inner_statements(statement: ast.stmt) -> list[ast.stmt]:
    if isinstance(statement, ast.If):
        body = [] if is_type_checking(statement.test) else statement.body
        return [*body, *statement.orelse]
    if isinstance(statement, ast.Try):
        handlers = [inner for handler in statement.handlers for inner in handler.body]
        return [*statement.body, *statement.orelse, *statement.finalbody, *handlers]
    if isinstance(statement, ast.With):
        return list(statement.body)
    return []


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
        module.classes[statement.name] = statement
        members = enum_members(statement) if is_enum_base(statement, module) else None
        if members is not None:
            module.enums[statement.name] = statement
            module.enum_values[statement.name] = members
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
    tables = (module.constants, module.enums, module.enum_values, module.functions, module.classes)
    for table in tables:
        table.pop(name, None)


def is_enum_base(node: ast.ClassDef, module: Module) -> bool:
    bases = [qualified_name(base, module.names) for base in node.bases]
    return any(base in ENUM_BASES for base in bases)


def enum_members(node: ast.ClassDef) -> dict[str, Any] | None:
    """Each member's value, an alias taking its original's; None when one is not a literal."""
    members: dict[str, Any] = {}
    originals: dict[Any, Any] = {}
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
        members[target.id] = originals.setdefault(equality_key(value), value)
    return members


LIST, DICT, SET = object(), object(), object()


def equality_key(value: Any) -> Any:
    """A hashable stand-in equal to another's exactly when the values are equal (`[1]`
    and `[1.0]` alike, `[1]` and `(1,)` not), so finding an alias's original is a lookup
    rather than a comparison with every member before it."""
    if isinstance(value, list):
        return (LIST, tuple(map(equality_key, value)))
    if isinstance(value, tuple):
        return tuple(map(equality_key, value))
    if isinstance(value, dict):
        return (DICT, frozenset((equality_key(k), equality_key(v)) for k, v in value.items()))
    if isinstance(value, set):
        return (SET, frozenset(map(equality_key, value)))
    return value


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
