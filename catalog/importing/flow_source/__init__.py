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

- enums (with literal values), pydantic models, dataclasses and TypedDicts defined in the
  project folder, in the flow's file or imported from another of its files, become
  `definitions` (`classes`, `definitions`, `project`); a plain class gives `{}`, as in
  Prefect; a type from outside the project folder (an installed package) or one static
  reading cannot describe gives `{}` too, with a warning line (`FlowInfo.warnings`)
  naming the flow and the parameter, as does a default left out;
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

Files are untrusted: an entrypoint must name a file inside the project folder, and the
file's size, nesting and what reading it computes are bounded (`SourceBudgets`, settings
`CATALOG_FLOW_SOURCE_*`); past a budget the file is refused with the budget named.
"""

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from catalog.importing.flow_source.definitions import Reading
from catalog.importing.flow_source.module import (
    Module,
    ReadingBudget,
    SourceTooCostly,
    Unresolved,
    qualified_name,
    scan_module,
    too_deep,
)
from catalog.importing.flow_source.parameters import all_arguments, parameter_schema
from catalog.importing.flow_source.project import Project
from catalog.importing.flow_source.values import static_value
from catalog.rules.limits import BANNED_NAME_CHARACTERS

FLOW_DECORATORS = frozenset({"prefect.flow", "prefect.flows.flow"})
RESERVED_PARAMETERS = ("return_state", "wait_for")


class FlowSourceError(ValueError):
    """The flow's file cannot be read as Prefect would read it (bad syntax, not a flow),
    or reading it would cost past a budget."""


class EntrypointOutsideProject(FlowSourceError):
    """An entrypoint naming a file outside the project folder, however it gets there."""


@dataclass(frozen=True)
class FlowInfo:
    name: str
    description: str | None
    version: str | None
    parameter_openapi_schema: dict
    # Lines starting "warning:" for what static reading could not describe as Prefect.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceBudgets:
    """What reading flow files may cost (settings `CATALOG_FLOW_SOURCE_*`, which hold the
    defaults)."""

    max_bytes: int
    max_depth: int
    max_value_size: int

    @classmethod
    def from_settings(cls) -> "SourceBudgets":
        from django.conf import settings

        return cls(
            max_bytes=settings.CATALOG_FLOW_SOURCE_MAX_BYTES,
            max_depth=settings.CATALOG_FLOW_SOURCE_MAX_DEPTH,
            max_value_size=settings.CATALOG_FLOW_SOURCE_MAX_VALUE_SIZE,
        )


@dataclass
class SourceFiles:
    """The flow files one import reads, each read and parsed once however many
    deployments name it; its budget is spent across them all."""

    budgets: SourceBudgets = field(default_factory=SourceBudgets.from_settings)
    read: dict[Path, tuple[Module, str]] = field(default_factory=dict)

    def module(self, path: Path) -> tuple[Module, str]:
        """The file's scanned module and the MD5 of its bytes."""
        if path not in self.read:
            source = read_source(path, self.budgets.max_bytes)
            budget = ReadingBudget(self.budgets.max_value_size, self.budgets.max_depth)
            try:
                module = scan_module(parse_source(source, path), path, budget)
            except SourceTooCostly as exc:
                raise costly(exc, path) from None
            file_hash = hashlib.md5(source, usedforsecurity=False).hexdigest()
            self.read[path] = (module, file_hash)
        return self.read[path]


def read_flow(entrypoint: str, base_dir: Path, files: SourceFiles | None = None) -> FlowInfo | None:
    """The flow at `path/to/file.py:function` (relative to `base_dir`, the project folder,
    and inside it), None if it is absent."""
    if ":" not in entrypoint:
        return None
    file_part, function_name = entrypoint.rsplit(":", 1)
    path = project_file(entrypoint, file_part, base_dir)
    if path is None or not path.is_file():
        return None
    files = files or SourceFiles()
    module, file_hash = files.module(path)
    function = module.functions.get(function_name)
    if function is None:
        return None
    project = Project(Path(base_dir).resolve(), files, path)
    try:
        return flow_info(function, project.flow_module(module), file_hash)
    except SourceTooCostly as exc:
        raise costly(exc, path) from None
    except RecursionError:
        raise FlowSourceError(f"{path}: {too_deep(module.budget.max_depth)}") from None


def project_file(entrypoint: str, file_part: str, base_dir: Path) -> Path | None:
    """The entrypoint's file, its links followed, refused unless inside the project
    folder: an absolute path, `..` or a link may otherwise reach any file on the host."""
    try:
        root = Path(base_dir).resolve()
        path = (root / file_part).resolve()
    except (OSError, ValueError):  # a NUL in the path, a loop of links
        return None
    if not path.is_relative_to(root):
        raise EntrypointOutsideProject(
            f"entrypoint {entrypoint!r} is outside the project folder {root}"
        )
    return path


def read_source(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, never more than the budget read (the size a file system reports
    may be wrong, as /proc's files say 0)."""
    try:
        with path.open("rb") as file:
            source = file.read(max_bytes + 1)
    except OSError as exc:
        raise FlowSourceError(f"{path}: cannot read: {exc.strerror}") from None
    if len(source) > max_bytes:
        raise FlowSourceError(
            f"{path}: the file is larger than {max_bytes:,} bytes (CATALOG_FLOW_SOURCE_MAX_BYTES)"
        )
    return source


def costly(exc: SourceTooCostly, path: Path) -> FlowSourceError:
    line = getattr(exc.node, "lineno", None)
    where = f"{path}, line {line}" if line else str(path)
    return FlowSourceError(f"{where}: {exc}")


def parse_source(source: bytes, path: Path) -> ast.Module:
    try:
        return ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        raise FlowSourceError(f"{path}, line {exc.lineno}: {exc.msg}") from exc
    except ValueError as exc:
        raise FlowSourceError(f"{path}: {exc}") from exc
    except (RecursionError, MemoryError):
        raise FlowSourceError(f"{path}: nested too deeply for Python's parser") from None


def flow_info(
    function: ast.FunctionDef | ast.AsyncFunctionDef, module: Module, file_hash: str
) -> FlowInfo:
    options = flow_options(function, module)
    name = constant_string(options.get("name"), module) or function.name.replace("_", "-")
    check_flow(function, module, name)
    docstring = ast.get_docstring(function, clean=True)
    where = f"{shown_path(module)}, line {function.lineno}: flow {name!r}"
    reading = Reading(module.project, module.budget, where)
    return FlowInfo(
        name=name,
        description=constant_string(options.get("description"), module) or docstring,
        version=constant_string(options.get("version"), module) or file_hash,
        parameter_openapi_schema=parameter_schema(function, module, docstring, reading),
        warnings=tuple(reading.warnings),
    )


def shown_path(module: Module) -> str:
    """The file as the project names it, relative to the project folder."""
    try:
        return str(module.path.relative_to(module.project.root))
    except (AttributeError, ValueError):
        return str(module.path)


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
