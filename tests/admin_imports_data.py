"""Files the import page's tests upload: a Prefect JSON list that creates one deployment,
changes one and has an error in a third; the CLI project as a zip; hostile zips."""

import io
import json
import stat
import zipfile
from pathlib import Path

from tests.conftest import prefect_json

ROOT = Path(__file__).resolve().parent
CLI_PROJECT = ROOT / "data" / "cli-project"
MINIMAL = "21_get_deployment_minimal.json"
CHANGED_DESCRIPTION = "Changed by an upload."


def mixed_records() -> list[dict]:
    """The captured minimal deployment with a new description, a new deployment, and one
    whose cron is no cron."""
    changed = prefect_json(MINIMAL)
    changed["description"] = CHANGED_DESCRIPTION
    created = {"name": "brand-new", "flow_name": "anchor-etl", "tags": ["fresh"]}
    broken = {
        "name": "broken",
        "flow_name": "anchor-etl",
        "schedules": [{"schedule": {"cron": "not a cron"}}],
    }
    return [changed, created, broken]


def mixed_json() -> bytes:
    return json.dumps(mixed_records(), indent=1).encode()


def zipped(files: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def cli_project_zip(folder: str = "cli-project/") -> bytes:
    files = {
        f"{folder}{path.relative_to(CLI_PROJECT)}": path.read_bytes()
        for path in sorted(CLI_PROJECT.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    return zipped(files)


def bomb_zip(size: int) -> bytes:
    """A prefect.yaml of `size` bytes of spaces: a few KB zipped."""
    return zipped({"prefect.yaml": b"deployments: []\n" + b" " * size})
