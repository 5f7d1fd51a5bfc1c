"""Checking records before they are written: every record's values by the write core's
rules, and the records against each other; the problems of all of them gathered."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from catalog.importing.records import Bundle, ImportFailed, Record, RecordError
from catalog.importing.specs import (
    DeploymentSpec,
    deployment_spec,
    flow_from_record,
    limit_from_record,
    variable_from_record,
    work_pool_from_record,
)
from catalog.models import ConcurrencyLimit, Flow, Variable, WorkPool, WorkQueue


@dataclass
class Checked:
    """The records besides deployments, checked (deployments are checked a batch at a time)."""

    flows: list[tuple[Record, Flow]]
    limits: list[tuple[Record, ConcurrencyLimit]]
    pools: list[tuple[Record, WorkPool, list[WorkQueue]]]
    variables: list[tuple[Record, Variable]]


class Problems:
    """Every problem an import finds, in the order a person reads them (the sources', the
    flows', the deployments', the other records', the repeats'); only the first
    `CATALOG_IMPORT_PROBLEMS_KEPT` are kept, the rest counted."""

    ORDER = ("source", "flows", "deployments", "shared", "repeats")

    def __init__(self) -> None:
        self.kept: dict[str, list[str]] = {section: [] for section in self.ORDER}
        self.count = 0
        self.limit = settings.CATALOG_IMPORT_PROBLEMS_KEPT

    def add(self, section: str, problems: list[str]) -> None:
        for problem in problems:
            if self.count < self.limit:
                self.kept[section].append(problem)
            self.count += 1

    def __bool__(self) -> bool:
        return self.count > 0

    def lines(self) -> list[str]:
        lines = [problem for section in self.ORDER for problem in self.kept[section]]
        if self.count > len(lines):
            lines.append(f"... and {self.count - len(lines):,} more problems")
        return lines

    def raise_any(self) -> None:
        if self:
            raise ImportFailed(self.lines(), total=self.count)


def check_shared(bundle: Bundle, problems: Problems) -> Checked:
    """The records besides deployments, checked; their problems go to `problems`."""
    problems.add("source", bundle.problems)
    found: list[str] = []
    flows = collect(bundle.flows, flow_from_record, found)
    problems.add("flows", found)
    found = []
    checked = Checked(
        flows=flows,
        limits=collect(bundle.concurrency_limits, listed_limit, found),
        pools=collect(bundle.work_pools, work_pool_from_record, found),
        variables=collect(bundle.variables, variable_from_record, found),
    )
    problems.add("shared", found)
    return checked


def check_deployments(records: list[Record], problems: Problems, now) -> list[DeploymentSpec]:
    found: list[str] = []
    specs = collect(records, None, found, now=now)
    problems.add("deployments", found)
    return specs


def collect(records: list[Record], build, problems: list[str], now=None) -> list:
    built = []
    for record in records:
        try:
            if build is None:
                built.append(deployment_spec(record, now))
            elif build is work_pool_from_record:
                built.append((record, *build(record.data)))
            else:
                built.append((record, build(record.data)))
        except RecordError as exc:
            problems.append(record.problem(exc))
    return built


def listed_limit(data: Any):
    """A limit listed on its own: its problems name its own keys."""
    return limit_from_record(data, where="")


class Duplicates:
    """Records naming one deployment twice (by id, or by flow and name), across every
    batch of an import. Within a batch each repeat names the record it repeats (`within`);
    across batches only a hash of each key is kept, about 130 bytes a deployment in a
    Python set (`across`: before the unchanged are skipped, which a repeat of a record
    written by an earlier batch would be)."""

    def __init__(self) -> None:
        self.earlier: set[int] = set()

    def across(self, records: list[Record]) -> list[str]:
        problems, batch = [], set()
        for record in records:
            for where, key in keys_of(record.data):
                if hash(key) in self.earlier:
                    problems.append(f"{record.where(where)}: repeats a record of an earlier batch")
                    break
            batch.update(hash(key) for _, key in keys_of(record.data))
        self.earlier |= batch
        return problems

    @staticmethod
    def within(specs: list[DeploymentSpec]) -> list[str]:
        problems, by_id, by_name = [], {}, {}
        for spec in specs:
            if spec.id is not None:
                if spec.id in by_id:
                    problems.append(f"{spec.record.where('id')}: repeats {by_id[spec.id]}")
                by_id[spec.id] = spec.record.where()
            key = (spec.flow_id or spec.flow_name, spec.name)
            if key in by_name:
                problems.append(f"{spec.record.where('name')}: repeats {by_name[key]}")
            by_name[key] = spec.record.where()
        return problems


def keys_of(data: Any) -> list[tuple[str, tuple]]:
    """How a record names its deployment: by id, and by flow and name, where it gives them."""
    if not isinstance(data, dict):
        return []
    keys = []
    if isinstance(data.get("id"), str):
        keys.append(("id", ("id", data["id"].lower())))
    flow = data.get("flow_id") or data.get("flow_name")
    if isinstance(flow, str) and isinstance(data.get("name"), str):
        keys.append(("name", ("name", flow.lower(), data["name"])))
    return keys
