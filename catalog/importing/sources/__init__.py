"""Where imports come from: files of Prefect API JSON, JSON Lines and prefect.yaml (this
registry picks the reader of each file), and live Prefect servers (`remote`). Each source
yields a `Bundle` of records shaped like Prefect's API JSON, each knowing its file, line
and path, for `catalog.importing.run` to check and write."""

from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from catalog.importing.records import Bundle, Input
from catalog.importing.sources.budgets import FileBudgets, yaml_too_large
from catalog.importing.sources.json_files import read_json, read_json_lines
from catalog.importing.sources.prefect_yaml import read_prefect_yaml
from catalog.importing.sources.streamed import streamed_input

FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".yaml": "yaml", ".yml": "yaml"}
READERS = {"json": read_json, "jsonl": read_json_lines, "yaml": read_prefect_yaml}


def read_paths(paths: Iterable[Path], *, file_format: str | None = None) -> Bundle:
    """Every file's records, all in memory (see `open_paths`)."""
    return open_paths(paths, file_format=file_format).as_bundle()


def open_paths(paths: Iterable[Path], *, file_format: str | None = None) -> Input:
    """Every file's records, deployments streamed from the JSON and JSON Lines files past
    `CATALOG_IMPORT_STREAM_BYTES` (smaller files are read whole). prefect.yaml files are
    read last, so that the work pools a JSON bundle of the same import defines count as
    existing for them."""
    opened = Input()
    read_later = []
    for path in map(Path, paths):
        named_kind = file_format or FORMATS.get(path.suffix.lower())
        try:
            if named_kind == "yaml":
                check_yaml_size(path)
            elif is_large(path) and (named_kind or sniff_file(path)) != "yaml":
                opened.extend(streamed_input(path, named_kind or "json"))
                continue
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            opened.shared.problems.append(f"{path}: cannot read: {exc}")
            continue
        except FileTooLarge as exc:
            opened.shared.problems.append(f"{path}: {exc}")
            continue
        kind = named_kind or sniff(text)
        if kind == "yaml":
            read_later.append((path, text))
        else:
            opened.extend(Input.of(READERS[kind](str(path), text, base_dir=path.parent)))
    for path, text in read_later:
        pools = pools_in(opened.shared)
        bundle = read_prefect_yaml(str(path), text, base_dir=path.parent, pools=pools)
        opened.extend(Input.of(bundle))
    return opened


def is_large(path: Path) -> bool:
    return path.stat().st_size > settings.CATALOG_IMPORT_STREAM_BYTES


def sniff_file(path: Path) -> str:
    """A large file's format, from its first bytes, as `sniff` tells it from its text."""
    with path.open("rb") as stream:
        start = stream.read(4096).lstrip()
    return "json" if start[:1] in (b"{", b"[") else "yaml"


def pools_in(bundle: Bundle) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """The work pools a bundle's records define (name: type), and their queues."""
    pools: dict[str, str] = {}
    queues: set[tuple[str, str]] = set()
    for record in bundle.work_pools:
        data = record.data
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            pools[data["name"]] = data.get("type")
            for queue in data.get("queues") or ():
                if isinstance(queue, dict) and isinstance(queue.get("name"), str):
                    queues.add((data["name"], queue["name"]))
    return pools, queues


class FileTooLarge(ValueError):
    pass


def check_yaml_size(path: Path) -> None:
    """A prefect.yaml past its budget is refused before it is read (the reader checks
    the text again, for files whose format is only known once read)."""
    max_bytes = FileBudgets.from_settings().yaml_max_bytes
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLarge(yaml_too_large(size, max_bytes))


def sniff(text: str) -> str:
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"
