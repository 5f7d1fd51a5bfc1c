"""Checking a whole bundle before anything is written: every record's values by the write
core's rules, and the records against each other."""

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

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
    flows: list[tuple[Record, Flow]]
    deployments: list[DeploymentSpec]
    limits: list[tuple[Record, ConcurrencyLimit]]
    pools: list[tuple[Record, WorkPool, list[WorkQueue]]]
    variables: list[tuple[Record, Variable]]


def check_bundle(bundle: Bundle) -> Checked:
    """Every record checked; `ImportFailed` lists every problem found."""
    problems = list(bundle.problems)
    now = timezone.now()
    checked = Checked(
        flows=collect(bundle.flows, flow_from_record, problems),
        deployments=collect(bundle.deployments, None, problems, now=now),
        limits=collect(bundle.concurrency_limits, listed_limit, problems),
        pools=collect(bundle.work_pools, work_pool_from_record, problems),
        variables=collect(bundle.variables, variable_from_record, problems),
    )
    problems += duplicate_problems(checked.deployments)
    if problems:
        raise ImportFailed(problems)
    return checked


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


def duplicate_problems(specs: list[DeploymentSpec]) -> list[str]:
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
