"""Large JSON and JSON Lines files, read as a stream: a first pass keeps every record but
the deployments (flows, limits, pools, variables: few) and counts the deployments; the
deployments are read again, one at a time, when the import asks for them. A JSON document
is parsed by `ijson` (a list, a `/paginate` page, an export bundle), a JSON Lines file
line by line; memory holds one record, whatever the file's size."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ijson
from django.conf import settings

from catalog.importing.records import BUNDLE_KEYS, Bundle, Input, Record
from catalog.importing.sources.budgets import (
    FileBudgets,
    JsonRefused,
    decode_json,
    nests_deeper_than,
    too_deep,
)
from catalog.importing.sources.json_files import is_flow, is_variable


def streamed_input(path: Path, kind: str) -> Input:
    """The file's records as an `Input`, its deployments read again when asked for."""
    reader = JsonLinesStream(path) if kind == "jsonl" else JsonStream(path)
    shared = reader.scan()
    return Input(shared, reader.count, [reader.deployments], reader.sources)


def kind_of_item(item: Any) -> str:
    if is_flow(item):
        return "flows"
    return "variables" if is_variable(item) else "deployments"


@dataclass
class JsonLinesStream:
    path: Path
    count: int = 0
    sources: set[str] = field(default_factory=set)
    unreadable: bool = False

    def lines(self) -> Iterator[tuple[int, Any, str | None]]:
        """Each line's number and value, or the problem that keeps it from being read."""
        max_depth = FileBudgets.from_settings().max_depth
        source = str(self.path)
        with self.path.open(encoding="utf-8") as text:
            for number, line in enumerate(bounded_lines(text), start=1):
                if line is None:
                    yield number, None, f"{source}:{number}: {line_too_long()}"
                    continue
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                try:
                    yield number, decode_json(line, max_depth), None
                except json.JSONDecodeError as exc:
                    problem = f"JSON syntax error at column {exc.colno}: {exc.msg}"
                    yield number, None, f"{source}:{number}: {problem}"
                except JsonRefused as exc:
                    yield number, None, f"{source}:{number}: JSON {exc.problem}"

    def scan(self) -> Bundle:
        bundle = Bundle()
        try:
            for number, item, problem in self.lines():
                if problem is not None:
                    bundle.problems.append(problem)
                    continue
                self.sources.add(str(self.path))
                kind = kind_of_item(item)
                if kind == "deployments":
                    self.count += 1
                else:
                    getattr(bundle, kind).append(Record(str(self.path), "", item, line=number))
        except (OSError, UnicodeDecodeError) as exc:
            bundle.problems.append(f"{self.path}: cannot read: {exc}")
            self.unreadable = True
        return bundle

    def deployments(self) -> Iterator[Record]:
        if self.unreadable:
            return
        for number, item, problem in self.lines():
            if problem is None and kind_of_item(item) == "deployments":
                yield Record(str(self.path), "", item, line=number)


@dataclass
class JsonStream:
    """A JSON document: a list of objects (`item`), a page (`results`), an export bundle
    (its `BUNDLE_KEYS`), or one object."""

    path: Path
    count: int = 0
    sources: set[str] = field(default_factory=set)
    # The document's shape, once scanned: "list", "results", "bundle" or "object";
    # "refused" when the scan found it cannot be read (its problem is reported).
    shape: str = ""

    def scan(self) -> Bundle:
        bundle = Bundle()
        try:
            self.scan_shape(bundle)
        except StreamRefused as exc:
            bundle.problems.append(str(exc))
        except ijson.JSONError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "incomplete"
            bundle.problems.append(f"{self.path}: JSON syntax error: {first}")
        except OSError as exc:
            bundle.problems.append(f"{self.path}: cannot read: {exc}")
        if bundle.problems:
            self.shape = "refused"  # its deployments are not read again
        return bundle

    def scan_shape(self, bundle: Bundle) -> None:
        self.shape, keys = self.shape_of()
        if self.shape == "results" and keys["results"] != "start_array":
            raise StreamRefused(f"{self.path}: results: expected a list")
        if self.shape in ("list", "results"):
            self.scan_items(bundle)
        elif self.shape == "bundle":
            self.scan_bundle(bundle, keys)
        elif self.shape == "object":
            self.scan_object(bundle)
        else:
            bundle.problems.append(f"{self.path}: expected an object, a list of them or a page")

    def events(self):
        with self.path.open("rb") as stream:
            yield from ijson.parse(stream, use_float=True)

    def shape_of(self) -> tuple[str, dict[str, str]]:
        """The document's shape, and its top-level keys with the event that opens each
        one's value; one pass of the parser, building nothing."""
        keys: dict[str, str] = {}
        shape = ""
        key = None
        for prefix, event, value in self.events():
            if not shape:
                shape = {"start_array": "list", "start_map": "object"}.get(event, "scalar")
                if shape != "object":
                    return shape, keys
            elif prefix == "" and event == "map_key":
                key = value
            elif key is not None and prefix == key and key not in keys:
                keys[key] = event
        if shape == "object" and "results" in keys:
            shape = "results"
        elif shape == "object" and any(key in keys for key in BUNDLE_KEYS):
            shape = "bundle"
        return shape, keys

    def items(self, prefix: str) -> Iterator[tuple[int, Any]]:
        with self.path.open("rb") as stream:
            yield from enumerate(ijson.items(stream, prefix, use_float=True))

    def item_prefix(self) -> tuple[str, str, int]:
        """Where the records of a list or a page are: ijson's prefix, the path each
        record's place starts with, and how many levels they sit below the top."""
        return ("item", "", 1) if self.shape == "list" else ("results.item", "results", 2)

    def scan_items(self, bundle: Bundle) -> None:
        prefix, label, levels = self.item_prefix()
        for n, item in self.checked_items(prefix, label, levels):
            kind = kind_of_item(item)
            if kind == "deployments":
                self.count += 1
            else:
                getattr(bundle, kind).append(Record(str(self.path), f"{label}[{n}]", item))

    def scan_bundle(self, bundle: Bundle, keys: dict[str, str]) -> None:
        for key in BUNDLE_KEYS:
            opened = keys.get(key)
            if opened is None or opened == "null":
                continue
            if opened != "start_array":
                raise StreamRefused(f"{self.path}: {key}: expected a list")
            for n, item in self.checked_items(f"{key}.item", key, 2):
                if key == "deployments":
                    self.count += 1
                else:
                    getattr(bundle, key).append(Record(str(self.path), f"{key}[{n}]", item))

    def scan_object(self, bundle: Bundle) -> None:
        for _, item in self.checked_items("", "", 0):
            kind = kind_of_item(item)
            if kind == "deployments":
                self.count += 1
            else:
                getattr(bundle, kind).append(Record(str(self.path), "", item))

    def checked_items(self, prefix: str, label: str, levels: int) -> Iterator[tuple[int, Any]]:
        """The values at `prefix`, each within the depth budget left below the top."""
        self.sources.add(str(self.path))
        max_depth = FileBudgets.from_settings().max_depth
        for n, item in self.items(prefix):
            if nests_deeper_than(item, max_depth - levels):
                where = f" {label}[{n}]:" if levels else ""
                raise StreamRefused(f"{self.path}:{where} JSON {too_deep(max_depth)}")
            yield n, item

    def deployments(self) -> Iterator[Record]:
        source = str(self.path)
        if self.shape == "bundle":
            for n, item in self.items("deployments.item"):
                yield Record(source, f"deployments[{n}]", item)
            return
        if self.shape == "object":
            prefix, label = "", None
        elif self.shape in ("list", "results"):
            prefix, label, _ = self.item_prefix()
        else:
            return
        for n, item in self.items(prefix):
            if kind_of_item(item) == "deployments":
                yield Record(source, "" if label is None else f"{label}[{n}]", item)


def bounded_lines(text) -> Iterator[str | None]:
    """Each line of `text`, or None for a line longer than the budget, whose rest is read
    and dropped a block at a time: memory holds at most one budget's worth of it."""
    limit = settings.CATALOG_IMPORT_MAX_LINE_BYTES
    while line := text.readline(limit + 1):
        if len(line) <= limit or line.endswith("\n"):
            yield line
            continue
        while (rest := text.readline(limit)) and not rest.endswith("\n"):
            pass
        yield None


def line_too_long() -> str:
    limit = settings.CATALOG_IMPORT_MAX_LINE_BYTES
    return f"line longer than {limit:,} characters (CATALOG_IMPORT_MAX_LINE_BYTES)"


class StreamRefused(ValueError):
    """A problem that stops reading the file (its text is the whole problem)."""
