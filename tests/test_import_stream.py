"""Large inputs: files read as a stream, deployments checked and written a batch at a time
in one transaction, the change history recorded a batch of marks at a time, exports
written as they are read. Small settings make a few records behave as a million would."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.importing import exporter
from catalog.importing.exporter import bundle_text, deployments_to_export, export_bundle
from catalog.importing.progress import pace_text, progress_printer
from catalog.importing.records import ImportFailed
from catalog.importing.run import import_paths
from catalog.importing.sources import open_paths
from catalog.models import ChangeSet, Deployment, DeploymentSchedule, Flow, Version
from catalog.services import history
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db


@pytest.fixture
def streamed(settings):
    """Every file read as a stream, three deployments a batch."""
    settings.CATALOG_IMPORT_STREAM_BYTES = 0
    settings.CATALOG_IMPORT_BATCH = 3
    return settings


def record(n: int, **changes) -> dict:
    return {
        "name": f"deployment-{n:03d}",
        "flow_name": "stream-flow",
        "tags": ["stream", f"n-{n}"],
        "schedules": [{"schedule": {"cron": f"{n % 60} * * * *", "timezone": "UTC"}}],
        **changes,
    }


def write_list(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records))
    return path


def write_lines(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in records))
    return path


def refused(paths) -> list[str]:
    with pytest.raises(ImportFailed) as error:
        import_paths(paths)
    return error.value.problems


# Reading as a stream ---------------------------------------------------------------------


def test_a_large_file_is_read_as_a_stream_its_deployments_only_when_imported(streamed, tmp_path):
    path = write_list(tmp_path / "big.json", [{"id": str(Flow().id), "name": "f"}, record(1)])
    given = open_paths([path])
    assert [len(given.shared.flows), given.count, given.shared.deployments] == [1, 1, []]
    path.write_text("[]")  # read again when asked for: the file, not a copy in memory
    assert list(given.deployments()) == []


@pytest.mark.parametrize("write", [write_list, write_lines])
def test_a_streamed_file_imports_as_the_same_file_read_whole(write, settings, tmp_path):
    suffix = "json" if write is write_list else "jsonl"
    path = write(tmp_path / f"deployments.{suffix}", [record(n) for n in range(7)])
    import_paths([path])
    whole = bundle_text(export_bundle(deployments_to_export()))
    Deployment.objects.all().delete()
    Flow.objects.all().delete()
    settings.CATALOG_IMPORT_STREAM_BYTES = 0
    settings.CATALOG_IMPORT_BATCH = 3
    result = import_paths([path])
    assert result.summary() == "created=7 updated=0 unchanged=0 errors=0"
    assert strip_ids(bundle_text(export_bundle(deployments_to_export()))) == strip_ids(whole)
    assert import_paths([path]).summary() == "created=0 updated=0 unchanged=7 errors=0"


def strip_ids(text: str) -> list:
    """The deployments' values but for what each import makes anew (ids, times)."""
    made = {"id", "created", "updated", "flow_id", "anchor_date", "labels"}
    deployments = json.loads(text)["deployments"]
    return [
        {
            key: value
            for key, value in item.items()
            if key not in made and key != "schedules" and key != "flow_name"
        }
        | {"schedules": [schedule["schedule"]["cron"] for schedule in item["schedules"]]}
        for item in deployments
    ]


def test_a_bad_record_at_the_end_of_a_streamed_list_is_refused_and_nothing_written(
    streamed, tmp_path
):
    records = [record(n) for n in range(8)] + [record(8, flow_id="not-a-uuid")]
    path = write_list(tmp_path / "late.json", records)
    before = database_fingerprint()
    (problem,) = refused([path])
    assert problem.startswith(f"{path}: [8].flow_id: Input should be a valid UUID")
    assert database_fingerprint() == before
    assert not ChangeSet.objects.exists()


def test_a_bad_line_at_the_end_of_streamed_json_lines_names_its_line(streamed, tmp_path):
    path = write_lines(tmp_path / "late.jsonl", [record(n) for n in range(8)])
    with path.open("a") as lines:
        lines.write('{"name": "broken",\n')
    assert refused([path]) == [
        f"{path}:9: JSON syntax error at column 19: Expecting property name enclosed in "
        "double quotes"
    ]
    assert Deployment.objects.count() == 0


def test_a_streamed_line_longer_than_the_budget_is_refused_with_its_number(
    streamed, settings, tmp_path
):
    settings.CATALOG_IMPORT_MAX_LINE_BYTES = 500
    records = [record(n) for n in range(4)]
    records[2]["description"] = "x" * 5_000  # a line ten times the budget
    path = write_lines(tmp_path / "long.jsonl", records)
    assert refused([path]) == [
        f"{path}:3: line longer than 500 characters (CATALOG_IMPORT_MAX_LINE_BYTES)"
    ]
    assert Deployment.objects.count() == 0


def test_a_streamed_line_of_exactly_the_budget_is_read(streamed, settings, tmp_path):
    path = write_lines(tmp_path / "fits.jsonl", [record(n) for n in range(3)])
    longest = max(len(line) for line in path.read_text().splitlines())
    settings.CATALOG_IMPORT_MAX_LINE_BYTES = longest
    assert import_paths([path]).created == 3


def test_a_streamed_bundle_reads_each_key(streamed, tmp_path):
    flow = {"id": "8f1e7f5c-54f4-4b43-9f5a-8d6d7a3c1b20", "name": "bundled-flow"}
    deployments = [record(n, flow_name=None, flow_id=flow["id"]) for n in range(4)]
    for item in deployments:
        del item["flow_name"]
    path = write_list(tmp_path / "bundle.json", [])
    path.write_text(json.dumps({"flows": [flow], "deployments": deployments, "variables": None}))
    assert import_paths([path]).summary() == "created=4 updated=0 unchanged=0 errors=0"
    assert set(Deployment.objects.values_list("flow__name", flat=True)) == {"bundled-flow"}


def test_a_streamed_bundle_with_a_key_that_is_no_list_is_refused(streamed, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"deployments": {"name": "d"}}))
    assert refused([path]) == [f"{path}: deployments: expected a list"]


def test_a_streamed_json_syntax_error_is_refused(streamed, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps([record(1)])[:-5])
    (problem,) = refused([path])
    assert problem.startswith(f"{path}: JSON syntax error")


def test_a_streamed_record_nested_too_deeply_is_refused_with_its_place(streamed, tmp_path):
    streamed.CATALOG_IMPORT_MAX_DEPTH = 5
    path = write_list(tmp_path / "deep.json", [record(1, parameters={"a": [[[{"b": 1}]]]})])
    assert refused([path]) == [
        f"{path}: [0]: JSON nested too deeply: more than 5 levels (CATALOG_IMPORT_MAX_DEPTH)"
    ]


# Batches ----------------------------------------------------------------------------------


def import_queries(tmp_path: Path, first: int, count: int) -> int:
    path = write_list(tmp_path / f"batch-{first}.json", [record(first + n) for n in range(count)])
    with CaptureQueriesContext(connection) as queries:
        import_paths([path])
    return len(queries)


def test_each_batch_costs_the_same_queries_whatever_the_number_of_batches(streamed, tmp_path):
    import_queries(tmp_path, 900, 3)  # the flow exists from here on
    three, six, twelve = (
        import_queries(tmp_path, first, count) for first, count in ((100, 3), (200, 6), (300, 12))
    )
    per_batch = six - three
    assert per_batch > 0
    assert twelve == three + 3 * per_batch
    assert Deployment.objects.count() == 24


def test_a_re_import_costs_the_same_queries_each_batch(streamed, tmp_path):
    path = write_list(tmp_path / "again.json", [record(n) for n in range(12)])
    import_paths([path])
    with CaptureQueriesContext(connection) as twelve:
        assert import_paths([path]).unchanged == 12
    write_list(path, [record(n) for n in range(6)])
    with CaptureQueriesContext(connection) as six:
        import_paths([path])
    per_batch = (len(twelve) - len(six)) // 2
    assert len(twelve) == len(six) + 2 * per_batch


def test_a_deployment_repeated_in_a_later_batch_is_refused(streamed, tmp_path):
    path = write_list(tmp_path / "twice.json", [record(n) for n in range(5)] + [record(1)])
    assert refused([path]) == [
        f"{path}: [5].name: repeats a record of an earlier batch",
    ]
    assert Deployment.objects.count() == 0


def test_a_deployment_repeated_within_a_batch_names_the_first(streamed, tmp_path):
    path = write_list(tmp_path / "twice.json", [record(1), record(1)])
    assert refused([path]) == [f"{path}: [1].name: repeats {path}: [0]"]


def test_problems_of_every_batch_are_listed_up_to_a_cap(streamed, tmp_path):
    streamed.CATALOG_IMPORT_PROBLEMS_KEPT = 2
    records = [record(n, flow_id="bad") for n in range(5)]
    path = write_list(tmp_path / "bad.json", records)
    with pytest.raises(ImportFailed) as error:
        import_paths([path])
    first, second, more = error.value.problems
    assert first.startswith(f"{path}: [0].flow_id: Input should be a valid UUID")
    assert second.startswith(f"{path}: [1].flow_id: Input should be a valid UUID")
    assert more == "... and 3 more problems"
    assert error.value.total == 5


def test_the_command_counts_every_problem_past_the_cap(streamed, tmp_path, capsys):
    streamed.CATALOG_IMPORT_PROBLEMS_KEPT = 1
    path = write_list(tmp_path / "bad.json", [record(n, flow_id="bad") for n in range(4)])
    with pytest.raises(CommandError) as error:
        call_command("import_deployments", str(path), "--quiet")
    assert str(error.value).endswith("... and 3 more problems")
    assert "errors=4" in capsys.readouterr().out


def test_a_result_keeps_only_the_first_changes_and_counts_the_rest(streamed, tmp_path, capsys):
    streamed.CATALOG_IMPORT_CHANGES_KEPT = 4
    path = write_list(tmp_path / "many.json", [record(n) for n in range(10)])
    result = import_paths([path], dry_run=True)
    assert [len(result.changes), result.changes_left_out, result.created] == [4, 6, 10]
    call_command("import_deployments", str(path), "--dry-run", "--quiet")
    out = capsys.readouterr().out
    assert out.count("would create stream-flow/") == 4
    assert "... and 6 more deployments" in out


def test_progress_is_shown_each_batch_with_rate_and_time_left(streamed, tmp_path):
    path = write_list(tmp_path / "progress.json", [record(n) for n in range(7)])
    shown = []
    import_paths([path], progress=lambda done, total: shown.append((done, total)))
    assert shown == [(3, 7), (6, 7), (7, 7)]
    assert pace_text(50, 150, 10.0) == "5 deployments/s, 0:00:20 left"
    stream = io.StringIO()
    progress_printer(stream)(7, 7)
    assert stream.getvalue().startswith("checked 7/7 deployments, ")


# History and export ----------------------------------------------------------------------


def test_history_records_a_large_change_set_a_batch_of_marks_at_a_time(
    streamed, tmp_path, monkeypatch
):
    monkeypatch.setattr(history, "BATCH", 4)
    path = write_list(tmp_path / "history.json", [record(n) for n in range(10)])
    import_paths([path])
    change = ChangeSet.objects.get()
    versions = Version.objects.filter(change_set=change)
    assert versions.filter(object_type="deployment").count() == 10
    assert set(versions.values_list("number", flat=True)) == {1}
    write_list(path, [record(n, description="changed") for n in range(10)])
    import_paths([path])
    assert Version.objects.filter(object_type="deployment", number=2).count() == 10
    assert ChangeSet.objects.count() == 2


def test_an_export_written_in_batches_is_the_text_of_the_whole(tmp_path, monkeypatch):
    import_paths([write_list(tmp_path / "some.json", [record(n) for n in range(7)])])
    whole_json = bundle_text(export_bundle(deployments_to_export(), include_variables=True))
    whole_yaml = exporter.export_prefect_yaml(deployments_to_export())
    monkeypatch.setattr(exporter, "EXPORT_BATCH", 2)
    for format, whole in (("json", whole_json), ("yaml", whole_yaml)):
        path = tmp_path / f"export.{format}"
        options = ["--include-variables"] if format == "json" else []
        call_command("export_deployments", "--format", format, "--output", str(path), *options)
        assert path.read_text() == whole
    assert DeploymentSchedule.objects.count() == 7


def test_an_export_reads_each_batch_in_the_same_queries(tmp_path, monkeypatch):
    import_paths([write_list(tmp_path / "some.json", [record(n) for n in range(12)])])
    monkeypatch.setattr(exporter, "EXPORT_BATCH", 3)
    counts = []
    for flow_tag in ("n-1", None):
        with CaptureQueriesContext(connection) as queries:
            exporter.write_bundle(
                io.StringIO(), exporter.bundle_parts(deployments_to_export(tag=flow_tag))
            )
        counts.append(len(queries))
    # 1 deployment (one batch) against 12 (four batches): three queries more a batch at most.
    assert counts[1] - counts[0] <= 3 * 3


def test_a_streamed_json_lines_file_that_is_not_utf_8_is_refused(streamed, tmp_path):
    path = write_lines(tmp_path / "latin.jsonl", [record(n) for n in range(4)])
    with path.open("ab") as lines:
        lines.write(b'{"name": "caf\xe9", "flow_name": "f"}\n')
    (problem,) = refused([path])
    assert problem.startswith(f"{path}: cannot read: 'utf-8' codec can't decode")
    assert Deployment.objects.count() == 0


@pytest.mark.parametrize(
    "document",
    [
        {"results": [record(1), record(2)], "count": 2, "limit": 200, "page": 1, "pages": 1},
        record(1),
    ],
    ids=["a page", "one object"],
)
def test_a_streamed_page_or_single_object_imports(streamed, tmp_path, document):
    path = tmp_path / "document.json"
    path.write_text(json.dumps(document))
    expected = len(document.get("results", [document]))
    assert import_paths([path]).created == expected
    assert Deployment.objects.count() == expected


def test_a_streamed_page_names_each_record_by_its_place(streamed, tmp_path):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"results": [record(1), record(2, tags="x")]}))
    (problem,) = refused([path])
    assert problem.startswith(f"{path}: results[1].tags: ")
