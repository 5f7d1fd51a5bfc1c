"""The definitions of a flow's schema: each model, dataclass and TypedDict a parameter
names, directly or through another one, built once from its class body; and a model or
dataclass instance given as a default, written as pydantic writes it (every field, in
order). `Reading` holds what one flow's schema shares: the definitions to build, the
classes already named, the warnings.
"""

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalog.importing.flow_source.classes import (
    ANNOTATION_KEYS,
    CONSTRAINTS,
    QUIET_CONFIG,
    QUIET_KEYWORDS,
    class_kind,
    constrained,
    field_keywords,
    is_reference,
)
from catalog.importing.flow_source.module import (
    EnumMember,
    Module,
    ReadingBudget,
    Scope,
    SourceTooCostly,
    Unresolved,
    qualified_name,
)
from catalog.importing.flow_source.project import Elsewhere, Project, ProjectClass
from catalog.importing.flow_source.schemas import ANNOTATION_PART_SIZE, annotation_schema
from catalog.importing.flow_source.values import jsonable, static_value

CLASS_VARS = frozenset({"typing.ClassVar", "dataclasses.InitVar", "dataclasses.KW_ONLY"})
OPTIONAL_KEYS = frozenset({"typing.NotRequired", "typing_extensions.NotRequired"})
REQUIRED_KEYS = frozenset({"typing.Required", "typing_extensions.Required"})
FIELD_KEYWORDS = frozenset(
    {"default", "default_factory", "alias", "json_schema_extra", *ANNOTATION_KEYS}
) | {keyword for keys in CONSTRAINTS.values() for keyword in keys}
EMPTY_FACTORIES = frozenset({"builtins.list", "builtins.dict", "builtins.set", "builtins.tuple"})
SIMPLE_TYPES = {"builtins.str": str, "builtins.int": int, "builtins.bool": bool}
MAX_INSTANCE_DEPTH = 20


class Reading:
    """One flow's schema being read: its definitions still to build, the classes named
    so far (by definition name), its warnings, and where a warning says it comes from."""

    def __init__(self, project: Project | None, budget: ReadingBudget, where: str) -> None:
        self.project = project
        self.budget = budget
        self.where = where
        self.pending: list[tuple[ProjectClass, str]] = []
        self.classes: dict[str, tuple[Path, str]] = {}
        self.warnings: list[str] = []
        self.context: list[str] = []

    def warn(self, message: str) -> None:
        line = f"warning: {', '.join([self.where, *self.context])}: {message}"
        if line not in self.warnings:
            self.warnings.append(line)

    def build_pending(self, definitions: dict[str, dict]) -> None:
        """Builds the definitions named so far, and those they name in turn."""
        while self.pending:
            cls, kind = self.pending.pop(0)
            self.context.append(f"class {cls.node.name!r}")
            try:
                definitions[cls.node.name].update(class_definition(cls, kind, self, definitions))
            except SourceTooCostly as exc:
                if exc.node is None:
                    raise
                where = f"{self.shown(cls.module.path)}, line {cls.node.lineno}"
                raise SourceTooCostly(f"class {cls.node.name!r} ({where}): {exc}") from None
            finally:
                self.context.pop()

    def shown(self, path: Path) -> str:
        root = self.project.root if self.project else None
        return str(path.relative_to(root)) if root and path.is_relative_to(root) else str(path)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    annotation: ast.expr
    value: ast.expr | None
    module: Module
    total: bool


def class_fields(cls: ProjectClass, kind: str, depth: int = 0) -> dict[str, FieldSpec]:
    """The class's fields, its bases' first; a field redefined keeps its first place."""
    fields: dict[str, FieldSpec] = {}
    if depth > MAX_INSTANCE_DEPTH:
        raise Unresolved
    for base in project_bases(cls):
        fields.update(class_fields(base, kind, depth + 1))
    total = not any(
        keyword.arg == "total"
        and isinstance(keyword.value, ast.Constant)
        and not keyword.value.value
        for keyword in cls.node.keywords
    )
    for statement in cls.node.body:
        if not isinstance(statement, ast.AnnAssign) or not isinstance(statement.target, ast.Name):
            continue
        name = statement.target.id
        if kind == "model" and (name.startswith("_") or name == "model_config"):
            continue
        if outer_name(statement.annotation, cls.module) in CLASS_VARS:
            continue
        fields[name] = FieldSpec(name, statement.annotation, statement.value, cls.module, total)
    return fields


def project_bases(cls: ProjectClass) -> list[ProjectClass]:
    project = cls.module.project
    bases = []
    for base in cls.node.bases:
        qualified = qualified_name(base, cls.module.names)
        if qualified is None or project is None:
            continue
        found = project.resolve(qualified, cls.module)
        if isinstance(found, ProjectClass):
            bases.append(found)
    return bases


def outer_name(annotation: ast.expr, module: Module) -> str | None:
    node = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return qualified_name(node, module.names)


def model_config(cls: ProjectClass, reading: Reading) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for base in project_bases(cls):
        config.update(model_config(base, reading))
    for statement in cls.node.body:
        targets = statement.targets if isinstance(statement, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            config.update(config_values(statement.value, cls.module, reading))
    return config


def config_values(node: ast.expr, module: Module, reading: Reading) -> dict[str, Any]:
    if isinstance(node, ast.Call) and not node.args:
        pairs = [(keyword.arg, keyword.value) for keyword in node.keywords]
    elif isinstance(node, ast.Dict):
        pairs = [
            (k.value if isinstance(k, ast.Constant) else None, v)
            for k, v in zip(node.keys, node.values, strict=True)
        ]
    else:
        reading.warn("its model_config is left out: it is not a ConfigDict(...) of constants")
        return {}
    values: dict[str, Any] = {}
    for key, value in pairs:
        if key in ("title", "extra"):
            try:
                values[key] = static_value(value, module)
            except Unresolved:
                reading.warn(f"its model_config {key}= is left out: it is not a constant")
        elif key not in QUIET_CONFIG:
            reading.warn(f"its model_config {key}= is left out of the schema")
    return values


def class_definition(cls: ProjectClass, kind: str, reading: Reading, definitions: dict) -> dict:
    fields = class_fields(cls, kind)
    reading.budget.spend(ANNOTATION_PART_SIZE * (1 + len(fields)), cls.node)
    config = model_config(cls, reading) if kind == "model" else {}
    properties: dict[str, dict] = {}
    required: list[str] = []
    for spec in fields.values():
        reading.context.append(f"field {spec.name!r}")
        try:
            name, schema, is_required = field_schema(spec, kind, reading, definitions)
        finally:
            reading.context.pop()
        properties[name] = schema
        if is_required:
            required.append(name)
    definition: dict[str, Any] = {"title": config.get("title") or cls.node.name}
    docstring = ast.get_docstring(cls.node, clean=True)
    if docstring and not docstring.startswith(f"{cls.node.name}("):
        definition["description"] = docstring
    definition["type"] = "object"
    definition["properties"] = properties
    if required:
        definition["required"] = required
    if config.get("extra") in ("forbid", "allow"):
        definition["additionalProperties"] = config["extra"] == "allow"
    return definition


def unwrapped(annotation: ast.expr, module: Module) -> tuple[ast.expr, list[ast.expr], bool | None]:
    """The annotation inside `Annotated`, `Required` and `NotRequired`; its metadata; and
    whether a TypedDict key is required (None when the annotation does not say)."""
    metadata: list[ast.expr] = []
    required = None
    while isinstance(annotation, ast.Subscript):
        outer = outer_name(annotation, module)
        arguments = (
            annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else [annotation.slice]
        )
        if outer == "typing.Annotated":
            metadata.extend(arguments[1:])
        elif outer in OPTIONAL_KEYS or outer in REQUIRED_KEYS:
            required = outer in REQUIRED_KEYS
        else:
            break
        annotation = arguments[0]
    return annotation, metadata, required


def field_schema(
    spec: FieldSpec, kind: str, reading: Reading, definitions: dict
) -> tuple[str, dict, bool]:
    module = spec.module
    scope = Scope(module, module.names, definitions, reading=reading, own_strings=True)
    annotation, metadata, key_required = unwrapped(spec.annotation, module)
    keywords: dict[str, ast.expr] = {}
    for item in metadata:
        found = field_keywords(item, module)
        if found is None and not isinstance(item, ast.Constant):
            reading.warn("an Annotated metadata other than Field(...) is left out")
        keywords.update(found or {})
    assigned = field_keywords(spec.value, module)
    keywords.update(assigned or {})
    default = keywords.get("default") if assigned is not None else spec.value
    schema = dict(annotation_schema(annotation, scope))
    needs_title = not is_reference(schema)
    schema = constrained(schema, keywords, module, reading)
    is_missing = default is None or (
        isinstance(default, ast.Constant) and default.value is Ellipsis
    )
    if kind == "typeddict":
        is_required = spec.total if key_required is None else key_required
    else:
        is_required = is_missing and "default_factory" not in keywords
    if not is_missing and kind != "typeddict":
        try:
            schema["default"] = default_json(default, module, top=True)
        except Unresolved:
            reading.warn("its default is left out: static reading cannot compute it")
    for key in ANNOTATION_KEYS:
        if key in keywords:
            try:
                schema[key] = jsonable(static_value(keywords[key], module))
            except Unresolved:
                reading.warn(f"its {key}= is left out: it is not a constant")
    extra = keywords.get("json_schema_extra")
    if extra is not None:
        try:
            schema.update(jsonable(static_value(extra, module)))
        except (Unresolved, TypeError, ValueError):
            reading.warn("its json_schema_extra= is left out: it is not a constant mapping")
    for keyword in keywords.keys() - FIELD_KEYWORDS - QUIET_KEYWORDS:
        reading.warn(f"Field's {keyword}= is left out of the schema")
    name = spec.name
    alias = keywords.get("alias")
    if isinstance(alias, ast.Constant) and isinstance(alias.value, str):
        name = alias.value
    if needs_title and "title" not in schema:
        schema["title"] = name.title().replace("_", " ").strip()
    return name, schema, is_required


def default_json(node: ast.expr, module: Module, top: bool = False, depth: int = 0) -> Any:
    """A default as pydantic writes it: a model or dataclass instance in full."""
    if isinstance(node, ast.Call) and (called := called_class(node, module)) is not None:
        return instance_json(called, node, module, depth + 1)
    return jsonable(static_value(node, module), top=top)


def called_class(call: ast.Call, module: Module) -> tuple[ProjectClass, str] | None:
    qualified = qualified_name(call.func, module.names)
    if qualified is None or module.project is None:
        return None
    found = module.project.resolve(qualified, module)
    if isinstance(found, Elsewhere):
        return None
    kind = class_kind(found)
    return (found, kind) if kind in ("model", "dataclass", "typeddict") else None


def instance_json(
    called: tuple[ProjectClass, str], call: ast.Call, module: Module, depth: int
) -> dict:
    """The instance `call` (written in `module`) makes, dumped as pydantic dumps it."""
    cls, kind = called
    if depth > MAX_INSTANCE_DEPTH or (kind == "typeddict" and call.args):
        raise Unresolved
    fields = class_fields(cls, kind)
    given = dict(zip(fields, call.args, strict=False)) if kind == "dataclass" else {}
    if len(call.args) > len(given) or any(k.arg is None for k in call.keywords):
        raise Unresolved
    given.update({keyword.arg: keyword.value for keyword in call.keywords})
    if kind == "typeddict":
        return {name: default_json(value, module, depth=depth) for name, value in given.items()}
    names = {field_name(spec): spec for spec in fields.values()} | fields
    if any(name not in names for name in given):
        raise Unresolved
    result: dict[str, Any] = {}
    for spec in fields.values():
        node = given.get(field_name(spec), given.get(spec.name))
        if node is not None:
            value = given_json(node, spec, module, kind, depth)
        else:
            value = unset_json(spec, depth)
        result[field_name(spec)] = value
    return result


def field_name(spec: FieldSpec) -> str:
    keywords = field_keywords(spec.value, spec.module) or {}
    alias = keywords.get("alias")
    return (
        alias.value
        if isinstance(alias, ast.Constant) and isinstance(alias.value, str)
        else spec.name
    )


def unset_json(spec: FieldSpec, depth: int) -> Any:
    keywords = field_keywords(spec.value, spec.module)
    default = keywords.get("default") if keywords is not None else spec.value
    if default is not None and not (
        isinstance(default, ast.Constant) and default.value is Ellipsis
    ):
        return default_json(default, spec.module, depth=depth)
    factory = (keywords or {}).get("default_factory")
    if factory is None:
        raise Unresolved  # a required field not given: Prefect could not load the flow
    qualified = qualified_name(factory, spec.module.names)
    if qualified in EMPTY_FACTORIES:
        return {} if qualified == "builtins.dict" else []
    call = ast.Call(func=factory, args=[], keywords=[])
    called = called_class(call, spec.module)
    if called is None:
        raise Unresolved
    return instance_json(called, call, spec.module, depth + 1)


def given_json(node: ast.expr, spec: FieldSpec, module: Module, kind: str, depth: int) -> Any:
    """An argument as the instance keeps it: a model validates it, so only values its
    validation leaves as they are (or turns an int into a float) are taken."""
    if isinstance(node, ast.Call) and (called := called_class(node, module)) is not None:
        return instance_json(called, node, module, depth + 1)
    value = static_value(node, module)
    if kind == "dataclass":
        return jsonable(value)
    annotation, _, _ = unwrapped(spec.annotation, spec.module)
    annotation, optional = without_none(annotation, spec.module)
    expected = qualified_name(annotation, spec.module.names)
    if value is None and optional:
        return None
    if isinstance(value, EnumMember):
        return jsonable(value)
    if expected == "builtins.float" and type(value) in (int, float):
        return float(value)
    if SIMPLE_TYPES.get(expected or "") is type(value):
        return value
    raise Unresolved


def without_none(annotation: ast.expr, module: Module) -> tuple[ast.expr, bool]:
    if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        for one, other in (
            (annotation.left, annotation.right),
            (annotation.right, annotation.left),
        ):
            if isinstance(other, ast.Constant) and other.value is None:
                return one, True
    if (
        isinstance(annotation, ast.Subscript)
        and outer_name(annotation, module) == "typing.Optional"
    ):
        return annotation.slice, True
    return annotation, False
