"""prefect.yaml: the deployments a `prefect deploy --all` of the file would make, each
problem named by the file's line and the path as written in it."""

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from catalog.importing.records import Bundle, Record, RecordError
from catalog.importing.sources.budgets import (
    BoundedYamlLoader,
    FileBudgets,
    YamlRefused,
    too_deep,
    yaml_too_large,
)
from catalog.importing.sources.json_files import failed
from catalog.rules.problems import joined


class PrefectYamlError(ValueError):
    pass


def read_prefect_yaml(source: str, text: str, base_dir: Path | None = None) -> Bundle:
    """The deployments a `prefect deploy --all` of this file would make."""
    budgets = FileBudgets.from_settings()
    size = len(text.encode("utf-8"))
    if size > budgets.yaml_max_bytes:
        return failed(f"{source}: {yaml_too_large(size, budgets.yaml_max_bytes)}")
    try:
        document, lines = load_yaml_with_lines(text, budgets)
    except YamlRefused as exc:
        line = f":{exc.problem_mark.line + 1}" if exc.problem_mark else ""
        return failed(f"{source}{line}: YAML {exc.problem}")
    except RecursionError:  # only with CATALOG_IMPORT_MAX_DEPTH past Python's own stack
        return failed(f"{source}: YAML {too_deep(budgets.max_depth)}")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return failed(f"{source}{line}: YAML syntax error: {problem}")
    if not isinstance(document, Mapping) or not isinstance(document.get("deployments"), list):
        return failed(f"{source}: expected a prefect.yaml with a `deployments` list")
    converter = PrefectYaml(source, document, lines, base_dir or Path("."))
    return converter.bundle()


def load_yaml_with_lines(text: str, budgets: FileBudgets) -> tuple[Any, dict[tuple, int]]:
    """The YAML document (anchors and `<<` merges resolved) and the line of each path,
    within the budgets on nodes and depth."""
    loader = BoundedYamlLoader(text, budgets)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[tuple, int] = {}
    if node is not None:
        record_lines(node, (), lines)
    return document, lines


def record_lines(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = (*path, key_node.value)
                lines.setdefault(child, key_node.start_mark.line + 1)
                record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            record_lines(item, (*path, index), lines)


# Where a field the API names lives in a prefect.yaml deployment.
YAML_PLACES = {
    "work_pool_name": "work_pool.name",
    "work_queue_name": "work_pool.work_queue_name",
    "job_variables": "work_pool.job_variables",
    "pull_steps": "pull",
    "concurrency_options": "concurrency_limit",
    "flow_id": "flow_name",
}
SCHEDULE_PLACE = re.compile(r"^schedules\[(\d+)\]\.schedule(\.|$)")
SCHEDULE_YAML_KEYS = {
    "cron",
    "interval",
    "rrule",
    "timezone",
    "anchor_date",
    "active",
    "day_or",
    "parameters",
    "slug",
    "replaces",
    "max_scheduled_runs",
}
TEMPLATE = re.compile(r"{{\s*([\w.\-\[\]$]+)\s*}}")


def yaml_path(api_path: str) -> str:
    """The path of a field in prefect.yaml, from its path in Prefect's API JSON."""
    path = SCHEDULE_PLACE.sub(lambda m: f"schedules[{m.group(1)}]{m.group(2)}", api_path)
    head, _, rest = path.partition(".")
    return joined(YAML_PLACES.get(head, head), rest) if head in YAML_PLACES else path


def line_of(lines: dict[tuple, int], path: str) -> int | None:
    parts: list = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    while parts:
        if tuple(parts) in lines:
            return lines[tuple(parts)]
        parts.pop()
    return lines.get(())


class PrefectYaml:
    """Turns one prefect.yaml into records of what `prefect deploy` would send."""

    def __init__(self, source: str, document: Mapping, lines: dict, base_dir: Path) -> None:
        self.source = source
        self.document = document
        self.lines = lines
        self.base_dir = base_dir
        self.notes: list[str] = []
        self.noted_top_pull = False
        self.variables = catalog_variables()
        self.flow_files = source_files()

    def bundle(self) -> Bundle:
        bundle = Bundle()
        for index, config in enumerate(self.document["deployments"]):
            place = f"deployments[{index}]"
            try:
                record = self.record(index, config)
            except RecordError as exc:
                where = joined(place, yaml_path(exc.where))
                line = line_of(self.lines, where)
                bundle.problems.append(f"{self.source}:{line}: {where}: {exc.message}")
                continue
            bundle.deployments.append(record)
        skipped = [key for key in ("build", "push") if self.document.get(key)]
        if skipped:
            self.notes.append(
                f"{self.source}: {' and '.join(skipped)} steps are not run by an "
                "import; templates naming their outputs stay as written"
            )
        bundle.notes.extend(self.notes)
        return bundle

    def record(self, index: int, config: Any) -> Record:
        if not isinstance(config, Mapping):
            raise RecordError("", "expected a mapping")
        place = f"deployments[{index}]"
        config = self.resolved(config, place)
        data = self.deployment_json(config)

        def where(record: Record, inner: str) -> str:
            path = joined(place, yaml_path(inner))
            return f"{self.source}:{line_of(self.lines, path)}: {path}"

        return Record(self.source, place, data, line=line_of(self.lines, place), place=where)

    def resolved(self, config: Mapping, place: str) -> dict:
        """Templates filled as `prefect deploy` fills them: environment variables and the
        catalog's variables everywhere but in pull steps, which keep them for run time."""
        config = dict(config)
        pull = config.pop("pull", MISSING_KEY)
        config = fill_templates(config, self.values_for, self.notes, f"{self.source}: {place}")
        if pull is not MISSING_KEY:
            config["pull"] = pull
            self.note_templates(pull, f"{self.source}: {place}.pull")
        elif not self.noted_top_pull:
            self.noted_top_pull = True
            self.note_templates(self.document.get("pull"), f"{self.source}: pull")
        return config

    def values_for(self, name: str) -> Any:
        if name.startswith("$"):
            return os.environ.get(name[1:], MISSING_KEY)
        if name.startswith("prefect.variables."):
            return self.variables.get(name.removeprefix("prefect.variables."), MISSING_KEY)
        return MISSING_KEY

    def note_templates(self, value: Any, place: str) -> None:
        for template in templates_in(value):
            self.notes.append(f"{place}: template left for run time: {{{{ {template} }}}}")

    def deployment_json(self, config: Mapping) -> dict:
        data: dict[str, Any] = {}
        copy_keys(
            config,
            data,
            (
                "name",
                "version",
                "description",
                "tags",
                "parameters",
                "enforce_parameter_schema",
                "entrypoint",
                "paused",
                "flow_name",
            ),
        )
        self.add_flow_facts(config, data)
        self.add_work_pool(config, data)
        self.add_concurrency(config, data)
        self.add_schedules(config, data)
        self.add_pull_steps(config, data)
        return data

    def add_flow_facts(self, config: Mapping, data: dict) -> None:
        """What Prefect reads from the flow's code: read from its source, never run."""
        from catalog.importing.flow_source import (
            EntrypointOutsideProject,
            FlowSourceError,
            read_flow,
        )

        entrypoint = config.get("entrypoint")
        info = None
        if isinstance(entrypoint, str) and entrypoint:
            try:
                info = read_flow(entrypoint, self.base_dir, self.flow_files)
            except EntrypointOutsideProject as exc:
                raise RecordError("entrypoint", f"deployment {data.get('name')!r}: {exc}") from None
            except FlowSourceError as exc:
                raise RecordError("entrypoint", str(exc)) from None
        if info is None and "flow_name" not in data:
            raise RecordError(
                "entrypoint",
                "the flow's source file is not here, so give the flow's name as `flow_name`",
            )
        if info is None:
            return
        self.notes.extend(warning for warning in info.warnings if warning not in self.notes)
        data.setdefault("flow_name", info.name)
        if not data.get("description") and info.description:
            data["description"] = info.description
        if data.get("version") is None and info.version is not None:
            data["version"] = info.version
        data["parameter_openapi_schema"] = info.parameter_openapi_schema

    def add_work_pool(self, config: Mapping, data: dict) -> None:
        pool = config.get("work_pool")
        if pool is None:
            return
        if not isinstance(pool, Mapping):
            raise RecordError("work_pool_name", "work_pool: expected a mapping")
        if pool.get("name") is not None:
            data["work_pool_name"] = pool["name"]
        if pool.get("work_queue_name") is not None:
            data["work_queue_name"] = pool["work_queue_name"]
        if pool.get("job_variables") is not None:
            data["job_variables"] = pool["job_variables"]

    def add_concurrency(self, config: Mapping, data: dict) -> None:
        if "concurrency_limit" not in config:
            return
        limit = config["concurrency_limit"]
        if not isinstance(limit, Mapping):
            data["concurrency_limit"] = limit
            return
        data["concurrency_limit"] = limit.get("limit")
        options = {"collision_strategy": limit.get("collision_strategy")}
        if limit.get("grace_period_seconds") is not None:
            options["grace_period_seconds"] = limit["grace_period_seconds"]
        data["concurrency_options"] = options if options["collision_strategy"] else None

    def add_schedules(self, config: Mapping, data: dict) -> None:
        entries = config.get("schedules", MISSING_KEY)
        legacy = config.get("schedule")
        if legacy and entries is not MISSING_KEY:
            raise RecordError("schedules", "give `schedules` or the old `schedule`, not both")
        if legacy:
            entries = [legacy]
        if entries is MISSING_KEY or entries is None:
            return
        if not isinstance(entries, list):
            raise RecordError("schedules", "expected a list")
        data["schedules"] = [schedule_json(n, entry) for n, entry in enumerate(entries)]

    def add_pull_steps(self, config: Mapping, data: dict) -> None:
        pull = config.get("pull", self.document.get("pull"))
        if isinstance(pull, Mapping) and pull:
            pull = [pull]
        if pull is None or pull == {}:
            pull = self.default_pull(config)
        data["pull_steps"] = pull

    def default_pull(self, config: Mapping) -> list:
        """Prefect's default when no pull steps are given: run from where the code is."""
        image = ((config.get("work_pool") or {}).get("job_variables") or {}).get("image")
        directory = "/opt/prefect" if image else str(self.base_dir.absolute().resolve())
        return [{"prefect.deployments.steps.set_working_directory": {"directory": directory}}]


MISSING_KEY: Any = object()


def copy_keys(config: Mapping, data: dict, keys: tuple) -> None:
    for key in keys:
        if key in config:
            data[key] = config[key]


def schedule_json(index: int, entry: Any) -> dict:
    """One prefect.yaml schedule as Prefect's API takes it."""
    where = f"schedules[{index}]"
    if not isinstance(entry, Mapping):
        raise RecordError(where, "expected a mapping")
    unknown = sorted(set(entry) - SCHEDULE_YAML_KEYS)
    if unknown:
        raise RecordError(f"{where}.{unknown[0]}", "unknown schedule key")
    kinds = [kind for kind in ("cron", "interval", "rrule") if entry.get(kind) is not None]
    if len(kinds) != 1:
        raise RecordError(where, "give exactly one of `cron`, `interval` or `rrule`")
    schedule: dict[str, Any] = {kinds[0]: entry[kinds[0]]}
    keys = {
        "cron": ("timezone", "day_or"),
        "interval": ("anchor_date", "timezone"),
        "rrule": ("timezone",),
    }[kinds[0]]
    copy_keys({k: v for k, v in entry.items() if v is not None}, schedule, keys)
    result: dict[str, Any] = {"schedule": schedule}
    copy_keys(entry, result, ("active", "parameters", "slug", "max_scheduled_runs"))
    return result


def source_files():
    """The flow files this prefect.yaml's entrypoints name, each read once."""
    from catalog.importing.flow_source import SourceFiles

    return SourceFiles()


def catalog_variables() -> dict[str, Any]:
    from catalog.models import Variable

    return dict(Variable.objects.values_list("name", "value"))


def templates_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return TEMPLATE.findall(value)
    if isinstance(value, Mapping):
        return [name for item in value.values() for name in templates_in(item)]
    if isinstance(value, list):
        return [name for item in value for name in templates_in(item)]
    return []


def fill_templates(value: Any, lookup, notes: list[str], place: str) -> Any:
    """`{{ name }}` replaced by its value: a template that is the whole string takes the
    value's JSON type; one inside text is written into the text. Unknown names stay."""
    if isinstance(value, Mapping):
        return {key: fill_templates(item, lookup, notes, place) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_templates(item, lookup, notes, place) for item in value]
    if not isinstance(value, str) or "{{" not in value:
        return value
    whole = TEMPLATE.fullmatch(value.strip())
    if whole:
        found = lookup(whole.group(1))
        if found is not MISSING_KEY:
            return found

    def replace(match: re.Match) -> str:
        found = lookup(match.group(1))
        if found is MISSING_KEY:
            notes.append(f"{place}: template left unresolved: {match.group(0)}")
            return match.group(0)
        return found if isinstance(found, str) else json.dumps(found)

    return TEMPLATE.sub(replace, value)
