"""Prefect API JSON and JSON Lines: one object, a list of them, a `/paginate` page, or the
bundle `export_deployments` writes; records sorted by their shape into flows,
deployments, limits, pools and variables."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from catalog.importing.records import BUNDLE_KEYS, Bundle, Record, RecordError
from catalog.importing.sources.budgets import FileBudgets, JsonRefused, decode_json

FLOW_KEYS = {"id", "created", "updated", "name", "tags", "labels"}
VARIABLE_KEYS = {"id", "created", "updated", "name", "value", "tags"}


def is_flow(item: Any) -> bool:
    """A Prefect Flow object (as `/flows/filter` returns them), not a deployment."""
    return isinstance(item, Mapping) and {"id", "name"} <= set(item) <= FLOW_KEYS


def is_variable(item: Any) -> bool:
    """A Prefect Variable object (as `/variables/filter` returns them)."""
    return isinstance(item, Mapping) and {"name", "value"} <= set(item) <= VARIABLE_KEYS


def target_of(bundle: Bundle, item: Any) -> list:
    if is_flow(item):
        return bundle.flows
    return bundle.variables if is_variable(item) else bundle.deployments


def read_json(source: str, text: str, base_dir: Path | None = None) -> Bundle:
    try:
        document = decode_json(text, FileBudgets.from_settings().max_depth)
    except json.JSONDecodeError as exc:
        return failed(f"{source}:{exc.lineno}: JSON syntax error at column {exc.colno}: {exc.msg}")
    except JsonRefused as exc:
        line = f":{exc.line}" if exc.line else ""
        return failed(f"{source}{line}: JSON {exc.problem}")
    try:
        return sort_document(source, document)
    except RecordError as exc:
        return failed(f"{source}: {exc}")


def failed(problem: str) -> Bundle:
    bundle = Bundle()
    bundle.problems.append(problem)
    return bundle


def sort_document(source: str, document: Any) -> Bundle:
    """Sort a document's objects into flows, deployments, limits and pools by its shape."""
    bundle = Bundle()
    if isinstance(document, list):
        add_items(bundle, source, "", document)
    elif isinstance(document, Mapping) and "results" in document:
        add_items(bundle, source, "results", as_list(document["results"], source, "results"))
    elif isinstance(document, Mapping) and any(key in document for key in BUNDLE_KEYS):
        for key in BUNDLE_KEYS:
            items = as_list(document.get(key) or [], source, key)
            target = getattr(bundle, key)
            target.extend(Record(source, f"{key}[{n}]", item) for n, item in enumerate(items))
    elif isinstance(document, Mapping):
        add_items(bundle, source, None, [document])
    else:
        bundle.problems.append(f"{source}: expected an object, a list of them or a page")
    return bundle


def add_items(bundle: Bundle, source: str, label: str | None, items: list) -> None:
    for n, item in enumerate(items):
        path = "" if label is None else f"{label}[{n}]"
        target = target_of(bundle, item)
        target.append(Record(source, path, item))


def as_list(value: Any, source: str, key: str) -> list:
    if not isinstance(value, list):
        raise RecordError(key, "expected a list")
    return value


def read_json_lines(source: str, text: str, base_dir: Path | None = None) -> Bundle:
    bundle = Bundle()
    max_depth = FileBudgets.from_settings().max_depth
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = decode_json(line, max_depth)
        except json.JSONDecodeError as exc:
            bundle.problems.append(
                f"{source}:{number}: JSON syntax error at column {exc.colno}: {exc.msg}"
            )
            continue
        except JsonRefused as exc:
            bundle.problems.append(f"{source}:{number}: JSON {exc.problem}")
            continue
        target = target_of(bundle, item)
        target.append(Record(source, "", item, line=number))
    return bundle
