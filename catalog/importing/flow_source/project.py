"""Where a name a flow file imports is defined: a class in one of the project's own files,
found as Prefect's loader would find it, or something outside the project.

Prefect loads the flow's file as a package whose folders are the file's folder and the
working directory (the project folder), both also put first on `sys.path`; so an absolute
import looks in those two folders, and a relative one in the folders of the importing
module's package. Only files inside the project folder are read (never run); a top-level
name from the standard library or from what Prefect itself imports is never looked up in
the project, as Python finds those already imported.
"""

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

from catalog.importing.flow_source.module import LOCAL, Module

# What Prefect has imported before it loads the flow's file: the project cannot shadow it.
PREFECT_IMPORTS = frozenset(
    {"prefect", "pydantic", "pydantic_core", "typing_extensions", "httpx", "anyio", "griffe"}
)
MAX_HOPS = 20  # re-exports followed from one name to where it is defined


@dataclass(frozen=True)
class ProjectClass:
    """A class defined at the top level of one of the project's files."""

    module: Module
    node: ast.ClassDef

    @property
    def key(self) -> tuple[Path, str]:
        return (self.module.path, self.node.name)


@dataclass(frozen=True)
class Alias:
    """A name bound to an expression at the top level of a project file (`Mode =
    Literal["a", "b"]`), read as the annotation it may be."""

    module: Module
    name: str


@dataclass(frozen=True)
class Elsewhere:
    """A name static reading cannot follow: `outside` when it comes from a module that is
    not a file of the project (an installed package), else it names something the
    project's files do not define as a class."""

    qualified: str
    outside: bool


class Project:
    """The project folder's files as one flow's imports reach them; `files` is the
    import's `SourceFiles`, which reads and parses each file once."""

    def __init__(self, root: Path, files, flow_path: Path) -> None:
        self.root = root
        self.files = files
        self.search_path = unique((flow_path.parent, root))

    def flow_module(self, module: Module) -> Module:
        module.project = self
        module.packages = (self.search_path,)
        return module

    def resolve(self, qualified: str, module: Module) -> ProjectClass | Alias | Elsewhere:
        """The class or alias a qualified name (as `module.names` holds them) means in
        `module`, following imports from one project file to another."""
        seen: set[tuple[Path, str]] = set()
        for _ in range(MAX_HOPS):
            if qualified.startswith(f"{LOCAL}."):
                name = qualified.removeprefix(f"{LOCAL}.")
                if name in module.classes:
                    return ProjectClass(module, module.classes[name])
                if name in module.constants:
                    return Alias(module, name)
                return Elsewhere(qualified, False)
            found = self.find_module(qualified, module)
            if found is None:
                return Elsewhere(qualified, not qualified.startswith("."))
            target, rest = found
            if not rest or rest[0] not in target.names or (target.path, qualified) in seen:
                return Elsewhere(qualified, False)
            seen.add((target.path, qualified))
            module, qualified = target, ".".join([target.names[rest[0]], *rest[1:]])
        return Elsewhere(qualified, False)

    def find_module(self, qualified: str, module: Module) -> tuple[Module, list[str]] | None:
        """The project module a dotted name starts with (the longest that is one) and the
        names after it."""
        level = len(qualified) - len(qualified.lstrip("."))
        parts = qualified[level:].split(".")
        if level == 0:
            if parts[0] in sys.stdlib_module_names or parts[0] in PREFECT_IMPORTS:
                return None
            searched = [((root,), ()) for root in self.search_path]
        elif level <= len(module.packages):
            searched = [(module.packages[level - 1], module.packages[level - 1 :])]
        else:
            return None  # beyond the top-level package: Python refuses it
        for count in range(len(parts), 0, -1):
            for folders, outer in searched:
                for folder in folders:
                    loaded = self.load(folder, parts[:count], outer)
                    if loaded is not None:
                        return loaded, parts[count:]
        return None

    def load(self, folder: Path, names: list[str], outer: tuple) -> Module | None:
        """The module `folder/a/b.py` or the package `folder/a/b/__init__.py`, if inside
        the project folder."""
        base = folder.joinpath(*names)
        for path, is_package in ((base.with_suffix(".py"), False), (base / "__init__.py", True)):
            try:
                resolved = path.resolve()
            except (OSError, ValueError):
                continue
            if not resolved.is_relative_to(self.root) or not resolved.is_file():
                continue
            module = self.files.module(resolved)[0]
            module.project = self
            inner = names if is_package else names[:-1]
            own = [(folder.joinpath(*inner[:i]),) for i in range(len(inner), 0, -1)]
            module.packages = (*own, *outer)
            return module
        return None


def unique(folders: tuple[Path, ...]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(folders))
