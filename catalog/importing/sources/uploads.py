"""An import someone uploads (the admin's import page): a file of Prefect API JSON, JSON
Lines or prefect.yaml, or a zip of a project folder whose prefect.yaml names flow files in
it. Read from bytes, never from the server's own folders: a prefect.yaml alone is read
against an empty folder, so no entrypoint can reach a file of the server, and what it
cannot derive without the flows' sources is said in the notes."""

import tempfile
from pathlib import Path

from catalog.importing.records import Bundle
from catalog.importing.sources.json_files import failed, read_json, read_json_lines
from catalog.importing.sources.prefect_yaml import read_prefect_yaml
from catalog.importing.sources.zip_project import UnsafeZip, ZipBudgets, extract_project

FORMATS = {
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".zip": "zip",
}
FORMAT_NAMES = {
    "json": "Prefect JSON",
    "jsonl": "JSON Lines",
    "yaml": "prefect.yaml",
    "zip": "zip of a project folder",
}
WORKING_DIRECTORY_STEP = "prefect.deployments.steps.set_working_directory"
# What a prefect.yaml's deployment takes from its flow's source, when the yaml leaves it out.
DERIVED_FIELDS = ("description", "version")


def upload_format(name: str) -> str | None:
    """The format a file's name says, or None."""
    return FORMATS.get(Path(name).suffix.lower())


def read_upload(name: str, content: bytes, file_format: str) -> Bundle:
    """The records of one uploaded file, each place named after `name`."""
    if file_format == "zip":
        return read_zipped_project(name, content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return failed(f"{name}: not UTF-8 text (byte {exc.start})")
    if file_format == "yaml":
        with tempfile.TemporaryDirectory() as folder:
            return read_project_yaml(name, text, Path(folder), Path(folder))
    reader = read_json_lines if file_format == "jsonl" else read_json
    return reader(name, text)


def read_zipped_project(name: str, content: bytes, budgets: ZipBudgets | None = None) -> Bundle:
    import io

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        try:
            project_file = extract_project(io.BytesIO(content), root, budgets)
        except UnsafeZip as exc:
            return failed(f"{name}: zip refused: {exc}")
        yaml_path = root.joinpath(*project_file.parts)
        source = f"{name}/{project_file}"
        try:
            text = yaml_path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            return failed(f"{source}: not UTF-8 text (byte {exc.start})")
        return read_project_yaml(source, text, yaml_path.parent, root, shown_root=name)


def read_project_yaml(
    source: str, text: str, project: Path, root: Path, shown_root: str = "(upload)"
) -> Bundle:
    """The prefect.yaml's records, read against `project` (inside `root`, a temporary
    folder whose path is replaced by `shown_root` in every line shown)."""
    bundle = read_prefect_yaml(source, text, base_dir=project)
    drop_upload_folder(bundle, project)
    note_underived(bundle)
    hidden = str(root.resolve())
    bundle.problems = [problem.replace(hidden, shown_root) for problem in bundle.problems]
    bundle.notes = [note.replace(hidden, shown_root) for note in bundle.notes]
    return bundle


def drop_upload_folder(bundle: Bundle, project: Path) -> None:
    """Without pull steps, `prefect deploy` stores the folder it ran in, which an upload
    does not have: such deployments keep the pull steps they have (new ones get none)."""
    folder = str(project.absolute().resolve())
    default = [{WORKING_DIRECTORY_STEP: {"directory": folder}}]
    dropped = []
    for record in bundle.deployments:
        if isinstance(record.data, dict) and record.data.get("pull_steps") == default:
            del record.data["pull_steps"]
            dropped.append(record.where("pull"))
    for place in dropped:
        bundle.notes.append(
            f"{place}: no pull steps given; `prefect deploy` would store the folder it runs "
            "in, which an upload does not have, so the deployment keeps the pull steps it "
            "has (a new one gets none)"
        )


def note_underived(bundle: Bundle) -> None:
    """A deployment whose flow's source file is not in the upload: which fields could
    not be derived from it."""
    for record in bundle.deployments:
        data = record.data if isinstance(record.data, dict) else {}
        if "parameter_openapi_schema" in data:
            continue
        fields = ["parameter_openapi_schema"]
        fields += [name for name in DERIVED_FIELDS if not data.get(name)]
        bundle.notes.append(
            f"{record.where('entrypoint')}: the flow's source is not in the upload, so "
            f"{', '.join(fields)} could not be derived from it; upload a zip of the "
            "project folder to derive them"
        )
