"""prefect.yaml: the deployments a `prefect deploy --all` of the file would make, each
problem named by the file's line and the path as written in it."""

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
from catalog.importing.sources.yaml_errors import syntax_error
from catalog.importing.sources.yaml_templates import DeploymentTemplates
from catalog.rules.job_templates import PLACEHOLDER
from catalog.rules.problems import joined


class PrefectYamlError(ValueError):
    pass


def read_prefect_yaml(
    source: str, text: str, base_dir: Path | None = None, *, pools: tuple | None = None
) -> Bundle:
    """The deployments a `prefect deploy --all` of this file would make. `pools` are work
    pools (name: type) and queues that the same import defines besides the catalog's."""
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
        return failed(syntax_error(source, text, exc))
    if not isinstance(document, Mapping) or not isinstance(document.get("deployments"), list):
        return failed(f"{source}: expected a prefect.yaml with a `deployments` list")
    converter = PrefectYaml(source, document, lines, base_dir or Path("."), pools)
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

    def __init__(
        self, source: str, document: Mapping, lines: dict, base_dir: Path, pools: tuple | None
    ) -> None:
        self.source = source
        self.document = document
        self.lines = lines
        self.base_dir = base_dir
        self.notes: list[str] = []
        self.noted_top_pull = False
        self.variables = catalog_variables()
        self.pools, self.queues = catalog_pools()
        if pools is not None:
            imported_pools, imported_queues = pools
            self.pools = {**self.pools, **imported_pools}
            self.queues |= imported_queues
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
                f"{self.source}: {' and '.join(skipped)} steps are not run by an import: "
                "templates naming their outputs stay as written in pull steps, and elsewhere "
                "are removed or emptied, as `prefect deploy` does when no step gives them"
            )
        bundle.notes.extend(self.notes)
        return bundle

    def record(self, index: int, config: Any) -> Record:
        if not isinstance(config, Mapping):
            raise RecordError("", "expected a mapping")
        place = f"deployments[{index}]"
        templates = DeploymentTemplates(os.environ, self.variables, self.warner(place))
        pull = self.pull_steps(config, templates, place)
        data = self.deployment_json(templates.deployment(with_schedules(config)))
        data["pull_steps"] = pull
        self.warn_pool(data, templates.warn)
        self.warn_max_scheduled_runs(data, templates.warn)

        def where(record: Record, inner: str) -> str:
            path = joined(place, yaml_path(inner))
            return f"{self.source}:{line_of(self.lines, path)}: {path}"

        return Record(self.source, place, data, line=line_of(self.lines, place), place=where)

    def warn_pool(self, data: dict, warn) -> None:
        """A pool of type `prefect-agent`, which `prefect deploy` refuses, is kept (a
        prefect.yaml the catalog exported may name one); a queue the pool lacks is made,
        as `prefect deploy` makes it."""
        pool, queue = data.get("work_pool_name"), data.get("work_queue_name")
        if self.pools.get(pool) == "prefect-agent":
            warn(
                "work_pool.name",
                f"work pool {pool!r} is of type 'prefect-agent', which `prefect deploy` "
                "refuses; the import takes it",
            )
        if isinstance(queue, str) and (pool, queue) not in self.queues:
            self.queues.add((pool, queue))
            warn(
                "work_pool.work_queue_name",
                f"work queue {queue!r} does not exist in work pool {pool!r}; "
                "the import makes it, as `prefect deploy` does",
            )

    @staticmethod
    def warn_max_scheduled_runs(data: dict, warn) -> None:
        """`prefect deploy` refuses `max_scheduled_runs` in a schedule (and skips the whole
        file); a prefect.yaml the catalog exported before it stopped writing the key may
        hold it, so the import takes it, with a warning."""
        for index, schedule in enumerate(data.get("schedules") or ()):
            if "max_scheduled_runs" in schedule:
                warn(
                    f"schedules[{index}].max_scheduled_runs",
                    "`prefect deploy` refuses this key (its schedules take only cron, "
                    "interval, rrule, timezone, anchor_date, active, parameters, slug, "
                    "replaces and day_or); the import takes it",
                )

    def warner(self, place: str):
        def warn(path: str, message: str) -> None:
            where = joined(place, path)
            self.note(f"warning: {self.source}:{line_of(self.lines, where)}: {where}: {message}")

        return warn

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def pull_steps(self, config: Mapping, templates: DeploymentTemplates, place: str) -> list:
        """The pull steps `prefect deploy` stores: the deployment's own, else the file's,
        else Prefect's default; `pull: []` (the deployment's, else the file's) means none.
        Only `{{ $VAR }}` is filled: the rest is for the worker, at run time."""
        own, top = single_steps(config.get("pull")), single_steps(self.document.get("pull"))
        if (own if "pull" in config else top) == []:
            return []
        if not (own or top):
            return self.default_pull(config)
        where = joined(place, "pull") if own else "pull"
        steps = templates.pull_steps(own or top, ())
        if where != "pull" or not self.noted_top_pull:
            self.noted_top_pull = self.noted_top_pull or where == "pull"
            for template in templates_in(steps):
                left = f"template left for run time: {{{{ {template} }}}}"
                self.note(f"{self.source}: {where}: {left}")
        return steps

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
        if isinstance(data.get("tags"), list):  # as Prefect's deployment takes them
            data["tags"] = [str(tag) for tag in data["tags"] if str(tag).strip()]
        self.add_flow_facts(config, data)
        self.add_work_pool(config, data)
        self.add_concurrency(config, data)
        self.add_schedules(config, data)
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
        if not data.get("description"):
            # Captured from prefect deploy 3.9.1: with neither a description nor a
            # docstring, it stores the text "None" (tests/data/prefect-cli/).
            data["description"] = info.description or "None"
        if not data.get("version") and info.version is not None:
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
            self.check_pool(pool["name"])
        if pool.get("work_queue_name") is not None:
            data["work_queue_name"] = pool["work_queue_name"]
        if pool.get("job_variables") is not None:
            data["job_variables"] = pool["job_variables"]

    def check_pool(self, name: Any) -> None:
        """As `prefect deploy`: a pool that does not exist is refused (see `warn_pool`
        for the rest)."""
        if not isinstance(name, str) or name not in self.pools:
            raise RecordError(
                "work_pool_name",
                f"work pool {name!r} does not exist; `prefect deploy` refuses it "
                "too (make the pool first, e.g. with `prefect work-pool create`)",
            )

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

    def default_pull(self, config: Mapping) -> list:
        """Prefect's default when no pull steps are given: run from where the code is."""
        image = ((config.get("work_pool") or {}).get("job_variables") or {}).get("image")
        directory = "/opt/prefect" if image else str(self.base_dir.absolute().resolve())
        return [{"prefect.deployments.steps.set_working_directory": {"directory": directory}}]

    def add_schedules(self, config: Mapping, data: dict) -> None:
        entries = config.get("schedules")
        if entries is None:
            return
        if not isinstance(entries, list):
            raise RecordError("schedules", "expected a list")
        data["schedules"] = [schedule_json(n, entry) for n, entry in enumerate(entries)]


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


def catalog_pools() -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The catalog's work pools (name: type), and its queues as (pool, queue) names."""
    from catalog.models import WorkPool, WorkQueue

    pools = dict(WorkPool.objects.values_list("name", "type"))
    return pools, set(WorkQueue.objects.values_list("work_pool__name", "name"))


def catalog_variables() -> dict[str, Any]:
    from catalog.models import Variable

    return dict(Variable.objects.values_list("name", "value"))


def with_schedules(config: Mapping) -> Mapping:
    """The old single `schedule` as a one-item `schedules`, as Prefect reads it."""
    legacy = config.get("schedule")
    if legacy and "schedules" in config:
        raise RecordError("schedules", "give `schedules` or the old `schedule`, not both")
    if not legacy:
        return config
    return {**{k: v for k, v in config.items() if k != "schedule"}, "schedules": [legacy]}


def single_steps(steps: Any) -> Any:
    """Steps given as one mapping are a list of that one step, as Prefect reads them."""
    return [steps] if isinstance(steps, Mapping) and steps else steps


def templates_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, Mapping):
        return [name for item in value.values() for name in templates_in(item)]
    if isinstance(value, list):
        return [name for item in value for name in templates_in(item)]
    return []
