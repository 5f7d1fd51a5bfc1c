"""What `import_deployments` reports: a line a kind of row (flows, work pools, work queues,
concurrency limits, variables, then deployments), in a dry run what it would do, and
every problem on one line, whatever the text it echoes holds."""

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importing.records import ImportFailed
from catalog.models import ConcurrencyLimit, Flow, Variable, WorkPool, WorkQueue
from catalog.rules.problems import one_line
from tests.conftest import prefect_file, prefect_json
from tests.replay import database_fingerprint

pytestmark = pytest.mark.django_db

FLOWS = [
    {"id": "3f6c7b8e-0a1d-4c2e-9f3b-5d4e6a7b8c9d", "name": "extract", "tags": ["etl"]},
    {"id": "5b1e9c2a-7d4f-4e8a-b3c6-0f2d1a9e8b7c", "name": "load"},
]
QUEUE = {"id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "name": "nightly", "priority": 2}


def write_json(tmp_path: Path, name: str, document) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def report(path: Path, *options: str, capsys) -> list[str]:
    call_command("import_deployments", str(path), "--quiet", *options)
    return capsys.readouterr().out.splitlines()


def counts(flows="0 0 0", pools="0 0 0", queues="0 0 0", limits="0 0 0", variables="0 0 0"):
    """The report's lines for these created/updated/unchanged counts, no deployments."""
    lines = []
    for label, numbers in (
        ("flows", flows),
        ("work pools", pools),
        ("work queues", queues),
        ("concurrency limits", limits),
        ("variables", variables),
    ):
        created, updated, unchanged = numbers.split()
        lines.append(f"{label}: created={created} updated={updated} unchanged={unchanged}")
    return [*lines, "deployments: created=0 updated=0 unchanged=0 errors=0"]


def shared_bundle() -> dict:
    return {
        "flows": FLOWS,
        "work_pools": [{**prefect_json("02_work_pool_create.response.json"), "queues": [QUEUE]}],
        "concurrency_limits": [prefect_json("03_gcl_v2_create.response.json")],
        "variables": [
            {"name": "region", "value": "eu-central-1", "tags": ["env"]},
            {"name": "cpu", "value": 2},
        ],
    }


# Counts of every kind -------------------------------------------------------------------


def test_a_flows_file_reports_the_flows_it_created(tmp_path, capsys):
    path = write_json(tmp_path, "flows.json", FLOWS)
    assert report(path, capsys=capsys) == counts(flows="2 0 0")
    assert sorted(Flow.objects.values_list("name", flat=True)) == ["extract", "load"]


def test_the_same_flows_again_are_unchanged_and_keep_their_updated(tmp_path, capsys):
    path = write_json(tmp_path, "flows.json", FLOWS)
    report(path, capsys=capsys)
    before = database_fingerprint()
    assert report(path, capsys=capsys) == counts(flows="0 0 2")
    assert database_fingerprint() == before


def test_a_changed_flow_is_counted_updated(tmp_path, capsys):
    report(write_json(tmp_path, "flows.json", FLOWS), capsys=capsys)
    changed = [{**FLOWS[0], "tags": ["etl", "nightly"]}, FLOWS[1]]
    assert report(write_json(tmp_path, "changed.json", changed), capsys=capsys) == counts(
        flows="0 1 1"
    )
    assert Flow.objects.get(name="extract").tags == ["etl", "nightly"]


def test_a_flows_file_in_json_lines_reports_its_flows(tmp_path, capsys):
    path = tmp_path / "flows.jsonl"
    path.write_text("".join(json.dumps(flow) + "\n" for flow in FLOWS))
    assert report(path, capsys=capsys) == counts(flows="2 0 0")


def test_pools_queues_limits_and_variables_are_counted(tmp_path, capsys):
    path = write_json(tmp_path, "bundle.json", shared_bundle())
    assert report(path, capsys=capsys) == counts(
        flows="2 0 0", pools="1 0 0", queues="2 0 0", limits="1 0 0", variables="2 0 0"
    )
    # The pool's default queue, missing from the input, was made as Prefect makes it.
    assert WorkQueue.objects.count() == 2
    assert report(path, capsys=capsys) == counts(
        flows="0 0 2", pools="0 0 1", queues="0 0 1", limits="0 0 1", variables="0 0 2"
    )


def test_a_changed_variable_pool_queue_and_limit_are_counted_updated(tmp_path, capsys):
    bundle = shared_bundle()
    report(write_json(tmp_path, "bundle.json", bundle), capsys=capsys)
    bundle["variables"][1]["value"] = 4
    bundle["work_pools"][0]["description"] = "changed"
    bundle["work_pools"][0]["queues"][0]["priority"] = 3
    bundle["concurrency_limits"][0]["limit"] = 9
    assert report(write_json(tmp_path, "again.json", bundle), capsys=capsys) == counts(
        flows="0 0 2", pools="0 1 0", queues="0 1 0", limits="0 1 0", variables="0 1 1"
    )
    assert Variable.objects.get(name="cpu").value == 4
    assert WorkPool.objects.get().description == "changed"
    assert ConcurrencyLimit.objects.get().limit == 9


def test_what_a_deployment_makes_on_its_way_is_counted(capsys):
    """The full deployment names a new pool and queue, an undescribed flow and its own
    limit and a shared one."""
    call_command("import_deployments", str(prefect_file("20_get_deployment_full.json")), "--quiet")
    assert capsys.readouterr().out.splitlines() == [
        "flows: created=1 updated=0 unchanged=0",
        "work pools: created=1 updated=0 unchanged=0",
        "work queues: created=2 updated=0 unchanged=0",
        "concurrency limits: created=1 updated=0 unchanged=0",
        "variables: created=0 updated=0 unchanged=0",
        "deployments: created=1 updated=0 unchanged=0 errors=0",
    ]


def test_a_dry_run_says_what_it_would_do_for_every_kind_and_writes_nothing(tmp_path, capsys):
    path = write_json(tmp_path, "bundle.json", shared_bundle())
    before = database_fingerprint()
    assert report(path, "--dry-run", capsys=capsys) == [
        "dry run, nothing written",
        "flows: would be created=2 updated=0 unchanged=0",
        "work pools: would be created=1 updated=0 unchanged=0",
        "work queues: would be created=2 updated=0 unchanged=0",
        "concurrency limits: would be created=1 updated=0 unchanged=0",
        "variables: would be created=2 updated=0 unchanged=0",
        "deployments: would be created=0 updated=0 unchanged=0 errors=0",
    ]
    assert database_fingerprint() == before


def test_a_refused_import_reports_its_errors_in_the_deployments_line(tmp_path, capsys):
    path = write_json(tmp_path, "flows.json", [FLOWS[0], {**FLOWS[1], "id": "x"}])
    with pytest.raises(CommandError):
        call_command("import_deployments", str(path), "--quiet")
    assert capsys.readouterr().out == "deployments: created=0 updated=0 unchanged=0 errors=1\n"
    assert not Flow.objects.exists()


# Every problem on one line --------------------------------------------------------------

SPLIT_RRULE = "FREQ=DAILY\nBYHOUR=99"
RRULE_PROBLEM = (
    'schedules[0].schedule.rrule: Invalid RRule string "FREQ=DAILY\\nBYHOUR=99": '
    "rrule.__init__() missing 1 required positional argument: 'freq'"
)


def with_rrule(rrule: str) -> dict:
    return {"name": "d", "flow_name": "f", "schedules": [{"schedule": {"rrule": rrule}}]}


def refusal(*paths: Path) -> list[str]:
    with pytest.raises(CommandError) as error:
        call_command("import_deployments", *map(str, paths), "--quiet")
    return str(error.value).split("\n")


def test_an_rrule_newline_in_a_json_problem_is_printed_escaped(tmp_path):
    path = write_json(tmp_path, "rrule.json", [with_rrule(SPLIT_RRULE)])
    assert refusal(path) == [
        "Import refused; nothing was written.",
        f"{path}: [0].{RRULE_PROBLEM}",
    ]


def test_an_rrule_newline_in_a_json_lines_problem_is_printed_escaped(tmp_path):
    path = tmp_path / "rrule.jsonl"
    path.write_text(json.dumps(with_rrule(SPLIT_RRULE)) + "\n")
    assert refusal(path) == ["Import refused; nothing was written.", f"{path}:1: {RRULE_PROBLEM}"]


def test_a_problem_whose_own_message_has_two_lines_is_printed_on_one(tmp_path):
    """Prefect's message for a too long rrule has a newline of its own."""
    long_rule = "DTSTART:20250101T000000\nRRULE:FREQ=DAILY;BYHOUR=" + ",".join(["1"] * 3300)
    path = write_json(tmp_path, "long.json", [with_rrule(long_rule)])
    lines = refusal(path)
    assert len(lines) == 2
    assert lines[1].endswith(
        '.rrule: Invalid RRule string "DTSTART:20250101T000000\\nRRULE:FREQ=DAILY..."'
        "\\nMax length is 6500, got 6647"
    )


def test_a_prefect_yaml_problem_is_printed_on_one_line_too(tmp_path):
    path = tmp_path / "prefect.yaml"
    path.write_text(
        "deployments:\n"
        "- name: d\n"
        "  flow_name: f\n"
        "  schedules:\n"
        '  - rrule: "FREQ=DAILY\\nBYHOUR=99"\n'
    )
    lines = refusal(path)
    assert len(lines) == 2
    assert 'Invalid RRule string "FREQ=DAILY\\nBYHOUR=99"' in lines[1]


def test_every_problem_raised_is_made_one_line():
    error = ImportFailed(["a.json: name: bad\nvalue", "b.json: fine"])
    assert error.problems == ["a.json: name: bad\\nvalue", "b.json: fine"]
    assert str(error) == "a.json: name: bad\\nvalue\nb.json: fine"


def test_one_line_escapes_what_is_not_printable_and_keeps_the_rest():
    assert one_line("a\nb\r\tc\x1b[31m\u2028\u202e é ✓ back\\slash") == (
        "a\\nb\\r\\tc\\x1b[31m\\u2028\\u202e é ✓ back\\slash"
    )
    assert one_line("plain text") == "plain text"
