"""The admin's import page: who may use it, the upload's size limit, each format, zips
hostile and not, the plan as a diff per deployment, confirming it (recorded as the admin
user's), a plan gone stale, and exports."""

import json

import pytest
import yaml
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.admin import import_store
from catalog.importing.run import import_paths
from catalog.models import ChangeSet, Deployment, Version
from catalog.services import deployments as deployment_writes
from catalog.services.context import Actor, Door, WriteContext
from tests.admin_imports_data import (
    CHANGED_DESCRIPTION,
    MINIMAL,
    bomb_zip,
    cli_project_zip,
    mixed_json,
    zipped,
)
from tests.conftest import prefect_file, prefect_json
from tests.test_import_cli_project import catalog_as_before_the_deploy, deployed  # noqa: F401

pytestmark = pytest.mark.django_db

PAGE = "/admin/catalog/deployment/import/"
EXPORT = "/admin/catalog/deployment/import/export/"


@pytest.fixture(autouse=True)
def pending_folder(settings, tmp_path):
    settings.CATALOG_ADMIN_IMPORT_DIR = str(tmp_path / "pending")


@pytest.fixture
def catalog(db):
    import_paths(
        [prefect_file(name) for name in ("20_get_deployment_full.json", MINIMAL)],
        flow_name="anchor-etl",
    )


@pytest.fixture
def ops(client):
    user = User.objects.create_superuser("ops", password="x")
    client.force_login(user)
    return user


def staff_with(client, *codenames: str) -> User:
    user = User.objects.create_user("staff", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return user


def upload(client, name: str, content: bytes, **fields):
    file = SimpleUploadedFile(name, content)
    return client.post(PAGE, {"action": "upload", "file": file, **fields})


def confirm(client, response, action="confirm"):
    return client.post(PAGE, {"action": action, "token": response.context["pending"].token})


def section(response, action: str):
    return next(s for s in response.context["sections"] if s.action == action)


def minimal() -> Deployment:
    return Deployment.objects.get(name="anchor-minimal")


# Who may use the page -----------------------------------------------------------------


def test_it_shows_the_page_to_a_user_who_may_add_and_change(client):
    staff_with(client, "add_deployment", "change_deployment", "view_deployment")
    response = client.get(PAGE)
    assert response.status_code == 200
    assert b"Import a file" in response.content
    assert b"Import from a Prefect server" not in response.content


@pytest.mark.parametrize(
    "codenames", [("change_deployment",), ("add_deployment",), ("view_deployment",)]
)
def test_it_refuses_a_user_without_both_permissions(client, codenames):
    staff_with(client, *codenames)
    assert client.get(PAGE).status_code == 403
    assert upload(client, "a.json", mixed_json()).status_code == 403


def test_it_refuses_a_server_import_to_staff_who_are_not_superusers(client, settings):
    settings.CATALOG_ADMIN_IMPORT_ALLOWED_HOSTS = ["127.0.0.1"]
    staff_with(client, "add_deployment", "change_deployment")
    response = client.post(PAGE, {"action": "remote", "url": "http://127.0.0.1:9/api"})
    assert response.status_code == 403


def test_the_list_links_to_the_page(client, ops):
    assert PAGE.encode() in client.get("/admin/catalog/deployment/").content


# The size limit -------------------------------------------------------------------------


def test_a_file_over_the_limit_is_a_form_error(client, ops, settings):
    settings.CATALOG_ADMIN_IMPORT_MAX_BYTES = 1000
    response = upload(client, "big.json", b"[" + b" " * 1500 + b"]")
    assert response.status_code == 400
    errors = str(response.context["upload_form"].errors)
    assert "more than the 1,000 bytes this page takes" in errors
    assert not Deployment.objects.exists()


def test_a_body_far_over_the_limit_is_refused_unread(client, ops, settings):
    settings.CATALOG_ADMIN_IMPORT_MAX_BYTES = 1000
    settings.CATALOG_MAX_BODY_BYTES = 1000
    response = upload(client, "big.json", b"[" + b" " * 5000 + b"]")
    assert response.status_code == 413
    assert b"at most 1,000 bytes" in response.content
    assert b"Back to the import page" in response.content


def test_the_page_takes_files_past_the_api_body_limit(client, ops, catalog, settings):
    settings.CATALOG_MAX_BODY_BYTES = 2000
    content = json.dumps([prefect_json(MINIMAL)], indent=40).encode()
    assert len(content) > 2000
    assert upload(client, "big.json", content).status_code == 200


def test_the_rest_of_the_site_keeps_its_limit(client, ops, settings):
    settings.CATALOG_MAX_BODY_BYTES = 2000
    response = client.post("/admin/catalog/deployment/add/", {"name": "x" * 3000})
    assert response.status_code == 413
    response = client.post("/api/deployments/filter", "x" * 3000, content_type="application/json")
    assert response.status_code == 413


def test_an_import_of_more_deployments_than_the_page_plans_is_refused(client, ops, settings):
    settings.CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS = 2
    plan = upload(client, "mixed.json", mixed_json()).context["plan"]
    assert plan.blocking == [
        "3 deployments, more than the 2 an import here may hold "
        "(CATALOG_ADMIN_IMPORT_MAX_DEPLOYMENTS); import them with `manage.py import_deployments`"
    ]
    assert not plan.can_import and not plan.deployments


def test_a_file_of_another_kind_is_a_form_error(client, ops):
    response = upload(client, "deployments.txt", b"[]")
    assert response.status_code == 400
    assert "must end in one of" in str(response.context["upload_form"].errors)


# The plan -----------------------------------------------------------------------------


def test_the_plan_shows_created_changed_and_errors_and_writes_nothing(client, ops, catalog):
    before = minimal().description
    response = upload(client, "mixed.json", mixed_json())
    assert response.status_code == 200
    plan = response.context["plan"]
    assert [row.label for row in plan.of("create")] == ["anchor-etl/brand-new"]
    changed = plan.of("update")
    assert [row.label for row in changed] == ["anchor-etl/anchor-minimal"]
    assert {"path": "description", "old": before, "new": CHANGED_DESCRIPTION} in changed[0].changes
    errors = plan.errors
    assert [row.name for row in errors] == ["broken"]
    assert errors[0].problems[0].startswith("mixed.json: [2].schedules[0].schedule.cron:")
    assert [row.label for row in plan.of("unchanged")] == []
    assert "deployments: would be created=1 updated=1 unchanged=0 errors=1" in plan.result.report()
    page = response.content.decode()
    assert "mixed.json: [2].schedules[0].schedule.cron" in page
    assert CHANGED_DESCRIPTION in page and "Import (leaving out 1 with errors)" in page
    assert minimal().description == before
    assert not Deployment.objects.filter(name="brand-new").exists()


def test_an_unchanged_deployment_is_listed_as_such(client, ops, catalog):
    response = upload(client, "same.json", prefect_file(MINIMAL).read_bytes())
    assert [row.label for row in response.context["plan"].of("unchanged")] == [
        "anchor-etl/anchor-minimal"
    ]


def test_confirming_imports_and_records_the_admin_user(client, ops, catalog):
    planned = upload(client, "mixed.json", mixed_json(), change_reason="from the upload")
    response = confirm(client, planned)
    assert response.status_code == 302
    assert minimal().description == CHANGED_DESCRIPTION
    assert Deployment.objects.filter(name="brand-new").exists()
    assert not Deployment.objects.filter(name="broken").exists()
    change = ChangeSet.objects.latest("at")
    assert (change.actor_kind, change.actor_name, change.door) == ("user", "ops", "import")
    assert change.reason == "from the upload"
    assert Version.objects.filter(change_set=change, object_id=minimal().pk).exists()
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("Imported mixed.json" in m and "created=1 updated=1" in m for m in messages)


def test_a_stale_plan_is_refused_and_planned_again(client, ops, catalog):
    planned = upload(client, "mixed.json", mixed_json())
    context = WriteContext(Actor.system("someone else"), Door.OTHER)
    deployment_writes.deployments_update(
        deployments=Deployment.objects.filter(name="anchor-minimal"),
        values={"version": "meanwhile"},
        context=context,
    )
    refused = confirm(client, planned)
    assert refused.status_code == 409
    assert "the plan changed since you saw it" in refused.content.decode()
    assert minimal().description != CHANGED_DESCRIPTION
    assert not Deployment.objects.filter(name="brand-new").exists()
    again = confirm(client, refused)
    assert again.status_code == 302
    assert minimal().description == CHANGED_DESCRIPTION


def test_a_confirmed_upload_cannot_be_confirmed_twice(client, ops, catalog):
    planned = upload(client, "mixed.json", mixed_json())
    confirm(client, planned)
    response = confirm(client, planned)
    assert response.status_code == 302
    assert Deployment.objects.filter(name="brand-new").count() == 1


def test_an_upload_left_waiting_too_long_is_not_imported(client, ops, catalog, settings):
    planned = upload(client, "mixed.json", mixed_json())
    settings.CATALOG_ADMIN_IMPORT_PENDING_MINUTES = 0
    response = confirm(client, planned)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("no longer waiting" in m for m in messages)
    assert not Deployment.objects.filter(name="brand-new").exists()


def test_a_user_keeps_only_a_few_uploads_waiting(client, ops):
    tokens = [upload(client, "a.json", b"[]").context["pending"].token for _ in range(4)]
    waiting = [t for t in tokens if import_store.pending_of(t, ops.pk) is not None]
    assert waiting == tokens[-import_store.PER_USER :]


def test_another_user_cannot_confirm_an_upload(client, ops, catalog):
    planned = upload(client, "mixed.json", mixed_json())
    other = User.objects.create_superuser("other", password="x")
    client.force_login(other)
    confirm(client, planned)
    assert not Deployment.objects.filter(name="brand-new").exists()


def test_cancelling_drops_the_upload(client, ops, catalog):
    planned = upload(client, "mixed.json", mixed_json())
    token = planned.context["pending"].token
    confirm(client, planned, action="cancel")
    assert import_store.pending_of(token, ops.pk) is None
    assert not Deployment.objects.filter(name="brand-new").exists()


def test_a_file_that_cannot_be_read_blocks_the_import(client, ops):
    response = upload(client, "bad.json", b'[{"name": ')
    plan = response.context["plan"]
    assert plan.blocking and plan.blocking[0].startswith("bad.json:1: JSON syntax error")
    assert not plan.can_import
    assert b'value="confirm"' not in response.content


# Formats ------------------------------------------------------------------------------


def test_it_imports_json_lines(client, ops, catalog):
    lines = b"\n".join(json.dumps(record).encode() for record in json.loads(mixed_json()))
    response = upload(client, "mixed.jsonl", lines)
    plan = response.context["plan"]
    assert [row.name for row in plan.errors] == ["broken"]
    assert plan.errors[0].problems[0].startswith("mixed.jsonl:3: schedules[0].schedule.cron:")
    assert len(plan.of("create")) == 1 and len(plan.of("update")) == 1


PREFECT_YAML = b"""
deployments:
- name: from-yaml
  entrypoint: flows/etl.py:load_orders
  flow_name: orders
  schedules:
  - cron: "0 9 * * *"
    slug: morning
- name: no-flow-name
  entrypoint: flows/etl.py:load_orders
"""


def test_a_yaml_alone_says_which_fields_it_could_not_derive(client, ops):
    response = upload(client, "prefect.yaml", PREFECT_YAML)
    plan = response.context["plan"]
    assert [row.label for row in plan.of("create")] == ["orders/from-yaml"]
    assert any(
        "deployments[0].entrypoint: the flow's source is not in the upload, so "
        "parameter_openapi_schema, description, version could not be derived" in note
        for note in plan.notes
    )
    assert "prefect.yaml:10: deployments[1].entrypoint" in plan.errors[0].problems[0]
    assert "could not be derived" in response.content.decode()


def test_a_yaml_alone_reads_no_file_of_the_server(client, ops):
    text = b"deployments:\n- name: x\n  entrypoint: ../../../etc/passwd:f\n  flow_name: f\n"
    plan = upload(client, "prefect.yaml", text).context["plan"]
    assert "outside the project folder (upload)" in plan.errors[0].problems[0]


def test_a_zipped_project_derives_the_flows_facts(client, ops, catalog_as_before_the_deploy):  # noqa: F811
    response = upload(client, "cli-project.zip", cli_project_zip())
    plan = response.context["plan"]
    assert not plan.blocking and not plan.errors
    assert len(plan.of("create")) == 8
    created = plan.of("create")[0]
    paths = {change["path"] for change in created.changes}
    assert any(path.startswith("parameter_openapi_schema") for path in paths)
    assert not any("could not be derived" in note for note in plan.notes)
    assert confirm(client, response).status_code == 302
    stored = Deployment.objects.get(name="orders-nightly")
    assert stored.parameter_openapi_schema["properties"]
    assert stored.pull_steps[0]["prefect.deployments.steps.set_working_directory"]


# Hostile zips -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "links", "refusal"),
    [
        ({"../prefect.yaml": b"deployments: []"}, (), "leading out of the folder"),
        ({"/etc/prefect.yaml": b"deployments: []"}, (), "an absolute path"),
        ({"a\\prefect.yaml": b"deployments: []"}, (), "a backslash"),
        ({"prefect.yaml": b"deployments: []"}, ("flows/etl.py",), "a link"),
        ({"flows/etl.py": b"x = 1"}, (), "no prefect.yaml"),
        (
            {"a/prefect.yaml": b"deployments: []", "b/prefect.yaml": b"deployments: []"},
            (),
            "several prefect.yaml",
        ),
    ],
)
def test_a_hostile_zip_is_refused(client, ops, files, links, refusal):
    plan = upload(client, "evil.zip", zipped(files, links)).context["plan"]
    assert plan.blocking[0].startswith("evil.zip: zip refused:")
    assert refusal in plan.blocking[0]


def test_a_zip_bomb_is_refused_before_it_is_inflated(client, ops, settings):
    settings.CATALOG_YAML_MAX_BYTES = 100_000
    content = bomb_zip(50_000_000)
    assert len(content) < 100_000
    plan = upload(client, "bomb.zip", content).context["plan"]
    assert "larger than 100,000 bytes unzipped (CATALOG_YAML_MAX_BYTES)" in plan.blocking[0]


def test_a_zip_of_too_many_entries_is_refused(client, ops, settings):
    settings.CATALOG_ADMIN_IMPORT_ZIP_MAX_ENTRIES = 10
    files = {f"notes/{n}.txt": b"" for n in range(11)}
    plan = upload(client, "many.zip", zipped(files)).context["plan"]
    assert "11 entries, more than 10" in plan.blocking[0]


def test_a_zip_past_its_total_budget_is_refused(client, ops, settings):
    settings.CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES = 10_000
    files = {f"flows/{n}.py": b"#" * 4000 for n in range(3)}
    files["prefect.yaml"] = b"deployments: []"
    plan = upload(client, "big.zip", zipped(files)).context["plan"]
    assert "CATALOG_ADMIN_IMPORT_ZIP_MAX_BYTES" in plan.blocking[0]


def test_only_the_files_an_import_reads_are_taken_from_a_zip(client, ops):
    files = {
        "project/prefect.yaml": b"deployments:\n- name: x\n  entrypoint: flows/f.py:f\n",
        "project/flows/f.py": b"from prefect import flow\n\n@flow\ndef f(n: int = 1): ...\n",
        "project/.venv/lib/prefect.yaml": b"not: read",
        "project/data/huge.csv": b"x" * 2_000_000,
    }
    plan = upload(client, "project.zip", zipped(files)).context["plan"]
    assert not plan.blocking and [row.label for row in plan.of("create")] == ["f/x"]


def test_a_file_that_is_no_zip_is_refused(client, ops):
    plan = upload(client, "fake.zip", b"not a zip").context["plan"]
    assert plan.blocking[0].startswith("fake.zip: zip refused: not a zip file")


# Exports ------------------------------------------------------------------------------


def test_it_exports_a_json_bundle(client, ops, catalog):
    response = client.get(EXPORT, {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="deployments-')
    names = sorted(d["name"] for d in json.loads(response.content)["deployments"])
    assert names == ["anchor-full", "anchor-minimal"]


def test_it_exports_a_prefect_yaml_filtered_by_tag(client, ops, catalog):
    response = client.get(EXPORT, {"format": "yaml", "tag": "nightly"})
    document = yaml.safe_load(response.content)
    assert [entry["name"] for entry in document["deployments"]] == ["anchor-full"]


def test_a_user_who_may_view_may_export(client, catalog):
    staff_with(client, "view_deployment")
    assert client.get(EXPORT, {"format": "json", "flow": "anchor-etl"}).status_code == 200


def test_a_user_who_may_not_view_may_not_export(client, catalog):
    staff_with(client)
    assert client.get(EXPORT, {"format": "json"}).status_code == 403


# Queries ------------------------------------------------------------------------------


def test_the_page_takes_the_same_queries_whatever_the_catalog_holds(
    client, ops, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        assert client.get(PAGE).status_code == 200
    import_paths(
        [prefect_file(name) for name in ("20_get_deployment_full.json", MINIMAL)],
        flow_name="anchor-etl",
    )
    with django_assert_max_num_queries(8):
        assert client.get(PAGE).status_code == 200


def new_deployments(count: int) -> bytes:
    records = [
        {
            "name": f"new-{n}",
            "flow_name": "anchor-etl",
            "schedules": [{"schedule": {"cron": "0 9 * * *"}, "slug": "morning"}],
        }
        for n in range(count)
    ]
    return json.dumps(records).encode()


def queries_of(client, content: bytes) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = upload(client, "new.json", content)
    assert len(response.context["plan"].of("create")) == content.count(b'"new-')
    return len(captured)


def test_a_plan_takes_the_same_queries_whatever_its_size(client, ops, catalog):
    """The same on PostgreSQL (past 20 deployments the kept bodies go by COPY); SQLite's
    inserts go in batches of a few dozen rows, never a query a deployment."""
    few, many = queries_of(client, new_deployments(25)), queries_of(client, new_deployments(250))
    if connection.vendor == "postgresql":
        assert few == many
    else:
        assert many - few <= (250 - 25) // 10
