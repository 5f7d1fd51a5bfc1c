"""The importer's door in the change history: an import is one change set, by the import
of its sources, with the reason given; it records only what it changed, and leaves every
deployment it wrote rendered for the API's reads."""

import io
import json
import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.importing.run import import_bundle, import_context, import_paths
from catalog.importing.sources.remote import fetch_bundle
from catalog.models import ChangeSet, DeploymentJson, PendingChange, Version
from catalog.rendering.deployment_json import rendered_deployments
from catalog.rendering.jsontext import dumps
from catalog.services.history import version_changes
from tests.conftest import page_queries, prefect_json
from tests.test_import_remote import empty_the_catalog

pytestmark = pytest.mark.django_db

FULL = "20_get_deployment_full.json"
MINIMAL = "21_get_deployment_minimal.json"
LINKED = "22_get_deployment_gcl_linked.json"
REASON = "move to the new cluster"

PREFECT_YAML = """
deployments:
- name: nightly
  entrypoint: flows/etl.py:load
  flow_name: etl
  schedules:
  - cron: "0 9 * * *"
    slug: morning
- name: hourly
  entrypoint: flows/etl.py:load
  flow_name: etl
  parameters: {limit: 5}
"""


def bundle_file(tmp_path: Path, edit=None) -> Path:
    """The export bundle of the captured flow and its three deployments; `edit` may
    change one record first."""
    records = {name: prefect_json(name) for name in (FULL, MINIMAL, LINKED)}
    if edit:
        edit(records)
    path = tmp_path / "bundle.json"
    bundle = {
        "flows": [prefect_json("01_flow_create.response.json")],
        "deployments": list(records.values()),
    }
    path.write_text(json.dumps(bundle))
    return path


def json_lines_file(tmp_path: Path) -> Path:
    path = tmp_path / "deployments.jsonl"
    path.write_text("".join(json.dumps(prefect_json(name)) + "\n" for name in (FULL, MINIMAL)))
    return path


def prefect_yaml_file(tmp_path: Path) -> Path:
    path = tmp_path / "prefect.yaml"
    path.write_text(textwrap.dedent(PREFECT_YAML).lstrip())
    return path


FORMS = [(bundle_file, 3), (json_lines_file, 2), (prefect_yaml_file, 2)]


def import_command(path: Path, *options: str) -> str:
    out = io.StringIO()
    call_command(
        "import_deployments",
        str(path),
        "--flow-name",
        "anchor-etl",
        "--quiet",
        *options,
        stdout=out,
    )
    return out.getvalue()


def change_sets() -> list[dict]:
    return list(
        ChangeSet.objects.order_by("at").values(
            "actor_kind", "actor_name", "actor_id", "door", "reason"
        )
    )


def nothing_recorded() -> bool:
    return not (
        ChangeSet.objects.exists() or Version.objects.exists() or PendingChange.objects.exists()
    )


# One change set an import ---------------------------------------------------------------


@pytest.mark.parametrize(("make_file", "count"), FORMS)
def test_an_import_records_each_new_deployment_in_one_change_set(tmp_path, make_file, count):
    path = make_file(tmp_path)
    import_command(path, "--reason", REASON)
    assert change_sets() == [
        {
            "actor_kind": "import",
            "actor_name": str(path),
            "actor_id": None,
            "door": "import",
            "reason": REASON,
        }
    ]
    deployments = Version.objects.filter(object_type="deployment")
    assert [(v.kind, v.number) for v in deployments] == [("created", 1)] * count
    assert not PendingChange.objects.exists()


@pytest.mark.parametrize(("make_file", "count"), FORMS)
def test_importing_the_same_file_again_records_nothing(tmp_path, make_file, count):
    path = make_file(tmp_path)
    import_command(path)
    recorded = list(Version.objects.values_list("id", flat=True))
    assert import_command(path).endswith(f"created=0 updated=0 unchanged={count} errors=0\n")
    assert list(Version.objects.values_list("id", flat=True)) == recorded
    assert ChangeSet.objects.count() == 1


def described(records) -> None:
    records[MINIMAL]["description"] = "now described"


def rescheduled(records) -> None:
    cron = next(s for s in records[FULL]["schedules"] if s["slug"] == "first-monday-cron")
    cron["schedule"]["cron"] = "0 10 1-7 * 1"


@pytest.mark.parametrize(
    ("edit", "name", "path"),
    [
        (described, "anchor-minimal", "description"),
        (rescheduled, "anchor-full", "schedules[slug=first-monday-cron].schedule.cron"),
    ],
)
def test_a_reimport_records_the_one_field_it_changed(tmp_path, edit, name, path):
    import_command(bundle_file(tmp_path))
    import_command(bundle_file(tmp_path, edit), "--reason", "one fix")
    latest = ChangeSet.objects.order_by("-at").first()
    (version,) = latest.versions.all()
    assert (version.name, version.kind, version.number, latest.reason) == (
        name,
        "changed",
        2,
        "one fix",
    )
    assert [change["path"] for change in version_changes(version)] == [path]


def test_a_dry_run_records_nothing(tmp_path):
    import_command(bundle_file(tmp_path), "--dry-run", "--reason", REASON)
    assert nothing_recorded()


def test_a_refused_import_records_nothing(tmp_path):
    path = tmp_path / "refused.json"
    records = [prefect_json(MINIMAL), {"name": "n", "flow_id": "not an id"}]
    path.write_text(json.dumps(records))
    with pytest.raises(CommandError, match=r"Import refused; nothing was written\."):
        import_command(path)
    assert nothing_recorded()


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("x" * 501, "--reason: String should have at most 500 characters"),
        ("a\x1bb", "--reason: The reason is refused: control characters are not allowed."),
    ],
)
def test_a_reason_the_history_cannot_keep_is_refused_before_reading(tmp_path, reason, message):
    with pytest.raises(CommandError) as refusal:
        import_command(bundle_file(tmp_path), "--reason", reason)
    assert str(refusal.value) == message
    assert nothing_recorded()


def test_with_the_history_off_an_import_records_nothing_but_keeps_the_json(tmp_path, settings):
    settings.CATALOG_HISTORY = False
    import_command(bundle_file(tmp_path), "--reason", REASON)
    assert nothing_recorded()
    assert DeploymentJson.objects.count() == 3
    assert not DeploymentJson.objects.filter(body__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_an_import_from_a_server_is_named_after_its_url(live_server, tmp_path):
    import_paths([bundle_file(tmp_path)])
    url = f"{live_server.url}/api"
    # The server reads this very database: read it first, then empty it.
    bundle = fetch_bundle(url)
    empty_the_catalog()
    import_bundle(bundle, context=import_context(bundle, REASON))
    latest = ChangeSet.objects.order_by("-at").first()
    assert (latest.actor_kind, latest.actor_name, latest.door, latest.reason) == (
        "import",
        url,
        "import",
        REASON,
    )
    assert latest.versions.filter(object_type="deployment", kind="created").count() == 3


# What an import leaves for the API ------------------------------------------------------


def test_the_import_keeps_every_deployments_json(tmp_path):
    import_command(bundle_file(tmp_path))
    kept = dict(DeploymentJson.objects.values_list("deployment_id", "body"))
    rendered = rendered_deployments(list(kept), "default")
    assert kept == {id: dumps(body).decode() for id, body in rendered.items()}


def test_the_first_reads_after_an_import_cost_what_later_ones_do(
    tmp_path, api_client, django_assert_num_queries
):
    import_command(bundle_file(tmp_path))
    deployment_id = prefect_json(FULL)["id"]
    for _ in range(2):
        with django_assert_num_queries(1):
            assert api_client.get(f"/api/deployments/{deployment_id}").status_code == 200
        with django_assert_num_queries(page_queries()):
            filtered = api_client.post("/api/deployments/filter", {}, format="json")
        assert len(filtered.json()) == 3
