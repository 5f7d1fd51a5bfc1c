"""A project folder uploaded as a zip: its prefect.yaml and Python files extracted into a
folder of the caller's, within budgets, refusing what could reach outside that folder.

The zip is untrusted: every entry's name is checked (no absolute path, drive, `..`,
backslash or NUL; no link; nothing encrypted; no name twice) before anything is
written; the sizes the zip declares are checked against the budgets before any byte is
inflated, and the bytes actually inflated are counted again, so a zip that lies about
its sizes stops at the budget too. Only what the import reads is extracted:
prefect.yaml and `.py` files, outside hidden folders and `__pycache__`.
"""

import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

PROJECT_FILES = ("prefect.yaml", "prefect.yml")
SKIPPED_FOLDERS = {"__pycache__", "__MACOSX"}
CHUNK_BYTES = 64 * 1024


class UnsafeZip(ValueError):
    """The zip is refused; the message says why, naming the entry."""


@dataclass(frozen=True)
class ZipBudgets:
    max_entries: int
    max_total_bytes: int
    max_yaml_bytes: int
    max_source_bytes: int

    @classmethod
    def from_settings(cls) -> "ZipBudgets":
        return cls(
            max_entries=settings.CATALOG_ADMIN_IMPORT_ZIP_MAX_ENTRIES,
            max_total_bytes=settings.CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES,
            max_yaml_bytes=settings.CATALOG_YAML_MAX_BYTES,
            max_source_bytes=settings.CATALOG_FLOW_SOURCE_MAX_BYTES,
        )

    def of(self, name: PurePosixPath) -> int:
        return self.max_yaml_bytes if name.name in PROJECT_FILES else self.max_source_bytes


def extract_project(archive, target: Path, budgets: ZipBudgets | None = None) -> PurePosixPath:
    """Extract the project's files from `archive` (a path or a binary file) into
    `target`; the path inside the zip of the prefect.yaml to import."""
    budgets = budgets or ZipBudgets.from_settings()
    try:
        with zipfile.ZipFile(archive) as zipped:
            entries = checked_entries(zipped, budgets)
            project_file = the_project_file(entries)
            for info, name in entries:
                extract(zipped, info, name, target, budgets)
    except zipfile.BadZipFile as exc:
        raise UnsafeZip(f"not a zip file: {exc}") from None
    except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError) as exc:
        raise UnsafeZip(f"cannot read the zip: {exc}") from None
    return project_file


def checked_entries(zipped: zipfile.ZipFile, budgets: ZipBudgets) -> list:
    """The entries to extract, with their names; the zip is refused first if any entry
    is hostile or the declared sizes pass a budget."""
    infos = zipped.infolist()
    if len(infos) > budgets.max_entries:
        raise UnsafeZip(
            f"{len(infos):,} entries, more than {budgets.max_entries:,} "
            "(CATALOG_ADMIN_IMPORT_ZIP_MAX_ENTRIES)"
        )
    seen, wanted, total = set(), [], 0
    for info in infos:
        name = safe_name(info)
        if name in seen:
            raise UnsafeZip(f"{info.filename!r}: the name appears twice")
        seen.add(name)
        if info.is_dir() or not is_project_file(name):
            continue
        if info.file_size > budgets.of(name):
            raise too_large(name, budgets.of(name))
        total += info.file_size
        if total > budgets.max_total_bytes:
            raise too_large_in_all(budgets)
        wanted.append((info, name))
    return wanted


def safe_name(info: zipfile.ZipInfo) -> PurePosixPath:
    raw = info.filename
    shown = repr(raw[:200])
    if "\x00" in raw or "\\" in raw:
        raise UnsafeZip(f"{shown}: a name with a NUL or a backslash")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise UnsafeZip(f"{shown}: an absolute path")
    parts = PurePosixPath(raw).parts
    if ".." in parts:
        raise UnsafeZip(f"{shown}: a path leading out of the folder (`..`)")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UnsafeZip(f"{shown}: a link; the zip may hold files only")
    if info.flag_bits & 0x1:
        raise UnsafeZip(f"{shown}: encrypted")
    return PurePosixPath(*parts) if parts else PurePosixPath(".")


def is_project_file(name: PurePosixPath) -> bool:
    folders = name.parts[:-1]
    if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in folders):
        return False
    return name.name in PROJECT_FILES or name.suffix == ".py"


def the_project_file(entries: list) -> PurePosixPath:
    """The shallowest prefect.yaml; two at that depth are refused."""
    found = sorted(
        (len(name.parts), str(name)) for _, name in entries if name.name in PROJECT_FILES
    )
    if not found:
        raise UnsafeZip("no prefect.yaml in the zip")
    top = [path for depth, path in found if depth == found[0][0]]
    if len(top) > 1:
        raise UnsafeZip(f"several prefect.yaml files at the same depth: {', '.join(top)}")
    return PurePosixPath(top[0])


def extract(zipped, info, name: PurePosixPath, target: Path, budgets: ZipBudgets) -> None:
    """One file, inflated a chunk at a time and stopped past what it declared."""
    path = target.joinpath(*name.parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipped.open(info) as source, path.open("xb") as out:
        while chunk := source.read(CHUNK_BYTES):
            written += len(chunk)
            if written > info.file_size:
                raise UnsafeZip(f"{str(name)!r}: inflates past the size the zip declares")
            out.write(chunk)


def too_large(name: PurePosixPath, limit: int) -> UnsafeZip:
    is_yaml = name.name in PROJECT_FILES
    setting = "CATALOG_YAML_MAX_BYTES" if is_yaml else "CATALOG_FLOW_SOURCE_MAX_BYTES"
    return UnsafeZip(f"{str(name)!r}: larger than {limit:,} bytes unzipped ({setting})")


def too_large_in_all(budgets: ZipBudgets) -> UnsafeZip:
    return UnsafeZip(
        f"the project's files come to more than {budgets.max_total_bytes:,} bytes unzipped "
        "(CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES)"
    )
