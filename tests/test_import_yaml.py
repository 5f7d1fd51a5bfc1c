"""Importing prefect.yaml: what `prefect deploy --all` would have made, read without
running anything, with line-numbered errors and stable schedule ids on re-import."""

import hashlib
import shutil
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command

from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentSchedule, Flow, Variable, WorkPool
from catalog.services.work_pools import work_pool_ensure
from tests.replay import database_fingerprint
from tests.test_importer import refused, rendered

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).parent / "data" / "yaml-project"


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("DEPLOY_BRANCH", "release")
    monkeypatch.setenv("TEAM_TAG", "team-data")
    monkeypatch.setenv("RELEASE", "2026.11")
    Variable.objects.create(name="git_token", value="s3cret")
    Variable.objects.create(name="etl_cpu", value=2)
    pool_named("k8s-prod", "kubernetes")


@pytest.fixture
def imported(environment):
    return import_paths([PROJECT / "prefect.yaml"])


def pool_named(name: str, pool_type: str = "process") -> WorkPool:
    """A pool with its default queue, as `prefect work-pool create` makes it."""
    pool = work_pool_ensure(name)
    WorkPool.objects.filter(id=pool.id).update(type=pool_type)
    return pool


def deployment(name: str) -> dict:
    return rendered(str(Deployment.objects.get(name=name).id))


def schedules_by_slug(body: dict) -> dict[str, dict]:
    return {schedule["slug"]: schedule for schedule in body["schedules"]}


def project_with(tmp_path: Path, prefect_yaml: str) -> Path:
    """A copy of the test project's flow code beside the given prefect.yaml."""
    shutil.copytree(PROJECT / "flows", tmp_path / "flows")
    path = tmp_path / "prefect.yaml"
    path.write_text(textwrap.dedent(prefect_yaml).lstrip())
    return path


# What prefect deploy would make ---------------------------------------------------------


def test_it_makes_every_deployment_of_the_file(imported):
    assert imported.summary() == "created=3 updated=0 unchanged=0 errors=0"
    flows = dict(Deployment.objects.values_list("name", "flow__name"))
    assert flows == {
        "nightly": "nightly-etl",
        "backfill": "backfill-window",
        "ad-hoc": "adhoc-reports",
    }


def test_anchors_and_merges_give_each_deployment_the_shared_definitions(imported):
    for name in ("nightly", "backfill"):
        body = deployment(name)
        assert body["tags"] == ["etl", "team-data"]
        assert body["work_pool_name"] == "k8s-prod"
        assert body["work_queue_name"] == "etl"
        # No build step runs: as for `prefect deploy` without it, the image is removed.
        assert body["job_variables"] == {"cpu": 2}
    assert deployment("ad-hoc")["tags"] == []


def test_schedules_in_every_form(imported):
    nightly = schedules_by_slug(deployment("nightly"))
    assert nightly["weekday-morning"]["schedule"] == {
        "cron": "30 9 * * 1-5",
        "timezone": "America/New_York",
        "day_or": True,
    }
    assert nightly["weekday-morning"]["active"] is True
    assert nightly["hourly"]["schedule"] == {
        "interval": 3600.0,
        "anchor_date": "2026-01-05T09:00:00-05:00",
        "timezone": "America/New_York",
    }
    assert nightly["hourly"]["active"] is False
    assert nightly["hourly"]["parameters"] == {"tables": ["orders"]}
    assert nightly["mwf"]["schedule"] == {
        "rrule": "DTSTART:20200101T000000\nFREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30",
        "timezone": "Europe/Paris",
    }
    six_hourly = schedules_by_slug(deployment("backfill"))["six-hourly"]["schedule"]
    assert six_hourly["interval"] == 21600.0
    assert deployment("ad-hoc")["schedules"] == []


def test_concurrency_limit_as_an_object_and_as_an_int(imported):
    nightly, backfill = deployment("nightly"), deployment("backfill")
    assert nightly["global_concurrency_limit"]["limit"] == 3
    assert nightly["concurrency_options"] == {
        "collision_strategy": "CANCEL_NEW",
        "grace_period_seconds": 300,
    }
    assert backfill["global_concurrency_limit"]["limit"] == 2
    assert backfill["concurrency_options"] is None


def test_parameters_paused_and_enforcement_as_given(imported):
    nightly, backfill = deployment("nightly"), deployment("backfill")
    assert nightly["parameters"] == {"tables": ["orders", "customers"]}
    assert (nightly["paused"], backfill["paused"]) == (False, True)
    assert (nightly["enforce_parameter_schema"], backfill["enforce_parameter_schema"]) == (
        True,
        False,
    )


# Facts read from the flow's source ------------------------------------------------------


def test_the_decorator_gives_name_description_and_version(imported):
    nightly = deployment("nightly")
    assert Flow.objects.get(id=nightly["flow_id"]).name == "nightly-etl"
    assert nightly["description"] == "Loads the day's extracts."
    assert nightly["version"] == "2.4.1"


def test_the_docstring_describes_a_flow_the_decorator_does_not(imported):
    backfill = deployment("backfill")
    assert backfill["description"] == (
        "Re-runs a window of days.\n\nThe docstring is the flow's description."
    )
    assert backfill["version"] == "2026.11"  # the deployment's own, from $RELEASE


def test_the_signature_gives_prefects_parameter_schema(imported):
    schema = deployment("nightly")["parameter_openapi_schema"]
    assert schema == {
        "title": "Parameters",
        "type": "object",
        "properties": {
            "tables": {
                "items": {"type": "string"},
                "position": 0,
                "title": "tables",
                "type": "array",
            },
            "full_refresh": {
                "default": False,
                "position": 1,
                "title": "full_refresh",
                "type": "boolean",
            },
            "day": {
                "anyOf": [{"format": "date", "type": "string"}, {"type": "null"}],
                "default": None,
                "position": 2,
                "title": "day",
            },
        },
        "required": ["tables"],
    }


def test_without_any_version_it_is_prefects_hash_of_the_flow_file(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: unversioned
          entrypoint: flows/etl.py:backfill_window
        """,
    )
    import_paths([path])
    source = (tmp_path / "flows" / "etl.py").read_bytes()
    assert deployment("unversioned")["version"] == hashlib.md5(source).hexdigest()


def test_a_deployment_description_wins_over_the_flows(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: described
          entrypoint: flows/etl.py:load
          description: Told by the deployment.
        """,
    )
    import_paths([path])
    assert deployment("described")["description"] == "Told by the deployment."


def test_a_missing_flow_file_needs_the_flows_name(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: lost
          entrypoint: elsewhere/flow.py:main
        """,
    )
    problems = refused([path])
    assert problems == [
        f"{path}:3: deployments[0].entrypoint: the flow's source file is not here, "
        "so give the flow's name as `flow_name`"
    ]


def test_models_imported_from_the_project_become_definitions_and_outside_types_a_warning(
    tmp_path,
):
    (tmp_path / "flows" / "shapes").mkdir(parents=True)
    (tmp_path / "flows" / "shapes" / "models.py").write_text(
        "from enum import Enum\n"
        "from pydantic import BaseModel\n\n\n"
        "class Kind(str, Enum):\n    A = 'a'\n\n\n"
        "class Item(BaseModel):\n    kind: Kind = Kind.A\n"
    )
    (tmp_path / "flows" / "app.py").write_text(
        "from httpx import URL\nfrom prefect import flow\n\n"
        "from shapes.models import Item\n\n\n"
        "@flow\ndef app(items: list[Item], url: URL = None):\n    pass\n"
    )
    path = tmp_path / "prefect.yaml"
    path.write_text(
        "deployments:\n"
        "- name: one\n  entrypoint: flows/app.py:app\n"
        "- name: two\n  entrypoint: flows/app.py:app\n"
    )

    result = import_paths([path])

    schema = deployment("one")["parameter_openapi_schema"]
    assert schema["properties"]["items"]["items"] == {"$ref": "#/definitions/Item"}
    assert schema["definitions"] == {
        "Item": {
            "properties": {"kind": {"$ref": "#/definitions/Kind", "default": "a"}},
            "title": "Item",
            "type": "object",
        },
        "Kind": {"enum": ["a"], "title": "Kind", "type": "string"},
    }
    assert schema["properties"]["url"] == {"default": None, "position": 1, "title": "url"}
    assert result.notes == [
        "warning: flows/app.py, line 8: flow 'app', parameter 'url': 'httpx.URL' is not "
        "defined in the project folder, so its schema is left open ({}) as Prefect leaves "
        "a type it cannot describe"
    ]


# Templates ------------------------------------------------------------------------------


def test_pull_steps_keep_all_but_environment_templates_for_run_time(imported):
    assert deployment("nightly")["pull_steps"] == [
        {
            "prefect.deployments.steps.git_clone": {
                "repository": "https://git.example.com/data/flows.git",
                "branch": "release",
                "access_token": "{{ prefect.variables.git_token }}",
            }
        }
    ]
    assert deployment("backfill")["pull_steps"] == []


def test_templates_left_as_written_are_listed(imported):
    source = str(PROJECT / "prefect.yaml")
    assert imported.notes == [
        f"{source}: pull: template left for run time: {{{{ prefect.variables.git_token }}}}",
        f"warning: {source}:23: deployments[0].work_pool.job_variables.image: "
        "{{ build-image.image }} names a step output, and an import runs no build or push "
        "step; removed, as prefect deploy does",
        f"warning: {source}:21: deployments[0].work_pool.work_queue_name: work queue 'etl' "
        "does not exist in work pool 'k8s-prod'; the import makes it, as `prefect deploy` does",
        f"warning: {source}:23: deployments[1].work_pool.job_variables.image: "
        "{{ build-image.image }} names a step output, and an import runs no build or push "
        "step; removed, as prefect deploy does",
        f"{source}: build steps are not run by an import: templates naming their outputs "
        "stay as written in pull steps, and elsewhere are removed or emptied, as "
        "`prefect deploy` does when no step gives them",
    ]


def test_a_variable_keeps_its_json_type_only_as_a_whole_value(tmp_path):
    """Inside text a variable is written as Python's `str()` writes it, as Prefect does."""
    Variable.objects.create(name="settings", value={"retries": 3, "fast": True})
    Variable.objects.create(name="region", value="eu-west-1")
    Variable.objects.create(name="zones", value=["a", "b"])
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: typed
          entrypoint: flows/etl.py:load
          parameters:
            settings: "{{ prefect.variables.settings }}"
            label: "region {{ prefect.variables.region }}, zones {{ prefect.variables.zones }}"
            missing: "{{ $NOT_SET_ANYWHERE }}"
        """,
    )
    result = import_paths([path])
    assert deployment("typed")["parameters"] == {
        "settings": {"retries": 3, "fast": True},
        "label": "region eu-west-1, zones ['a', 'b']",
        "missing": "",
    }
    assert (
        f"warning: {path}:7: deployments[0].parameters.missing: {{{{ $NOT_SET_ANYWHERE }}}} "
        "is not set in the environment; emptied, as prefect deploy does"
    ) in result.notes


def test_the_command_prints_the_notes(environment, capsys):
    call_command("import_deployments", str(PROJECT / "prefect.yaml"))
    out, err = capsys.readouterr()
    assert "created=3 updated=0 unchanged=0 errors=0" in out
    assert "{{ build-image.image }} names a step output" in err


# Bad files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            deployments:
            - name: a
              entrypoint: flows/etl.py:load
              schedules:
              - cron: "61 * * * *"
            """,
            '{path}:5: deployments[0].schedules[0].cron: Invalid cron string: "61 * * * *"',
        ),
        (
            """
            deployments:
            - name: a
              entrypoint: flows/etl.py:load
              schedules:
              - interval: 60
                every: day
            """,
            "{path}:6: deployments[0].schedules[0].every: unknown schedule key",
        ),
        (
            """
            deployments:
            - name: a
              entrypoint: flows/etl.py:load
              tags: [ok
            """,
            '{path}:5:1: YAML syntax error in deployment "a" (deployments[0].tags[0]): '
            "expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence at line 4, column 9)",
        ),
        (
            """
            deployments:
            - name: a
              entrypoint: flows/etl.py:load
            - name: b
              entrypoint: flows/etl.py:load
              schedules:
              - interval: -5
            """,
            "{path}:7: deployments[1].schedules[0].interval: interval must be positive",
        ),
        (
            """
            deployments:
            - name: a
              entrypoint: flows/etl.py:load
              tags: etl
            """,
            "{path}:4: deployments[0].tags: expected a list",
        ),
        (
            """
            deployments:
            - entrypoint: flows/etl.py:load
            """,
            "{path}:2: deployments[0].name: Field required",
        ),
    ],
    ids=["bad cron", "unknown key", "syntax", "negative interval", "tags", "no name"],
)
def test_a_bad_prefect_yaml_is_refused_by_line_and_path(tmp_path, body, message):
    import_paths([project_with(tmp_path / "good", "deployments: []\n")])
    path = project_with(tmp_path / "bad", body)
    before = database_fingerprint()
    problems = refused([path])
    assert problems[0].startswith(message.format(path=path)), problems
    assert database_fingerprint() == before


# Importing again ------------------------------------------------------------------------


def test_importing_the_file_again_changes_nothing(imported):
    before = database_fingerprint()
    again = import_paths([PROJECT / "prefect.yaml"])
    assert again.summary() == "created=0 updated=0 unchanged=3 errors=0"
    assert database_fingerprint() == before


def test_after_an_edit_elsewhere_a_reimport_keeps_schedule_ids_and_anchors(imported):
    ids = dict(DeploymentSchedule.objects.values_list("slug", "id"))
    anchor = schedules_by_slug(deployment("backfill"))["six-hourly"]["schedule"]["anchor_date"]
    for stored in Deployment.objects.all():
        stored.save()  # moves `updated`: the import checks every record in full again
    again = import_paths([PROJECT / "prefect.yaml"])
    assert again.summary() == "created=0 updated=0 unchanged=3 errors=0"
    assert dict(DeploymentSchedule.objects.values_list("slug", "id")) == ids
    six_hourly = schedules_by_slug(deployment("backfill"))["six-hourly"]["schedule"]
    assert six_hourly["anchor_date"] == anchor


def test_a_schedule_paused_in_the_catalog_stays_paused(imported):
    DeploymentSchedule.objects.filter(slug="weekday-morning").update(active=False)
    import_paths([PROJECT / "prefect.yaml"])
    assert schedules_by_slug(deployment("nightly"))["weekday-morning"]["active"] is False


def test_a_dry_run_of_a_prefect_yaml_writes_nothing(environment, capsys):
    before = database_fingerprint()
    call_command("import_deployments", str(PROJECT / "prefect.yaml"), "--dry-run")
    assert "would create" in capsys.readouterr().out
    assert database_fingerprint() == before


def test_format_yaml_reads_a_file_of_any_name(environment, tmp_path):
    path = tmp_path / "deploy-config.txt"
    shutil.copytree(PROJECT / "flows", tmp_path / "flows")
    path.write_text((PROJECT / "prefect.yaml").read_text())
    result = import_paths([path], file_format="yaml")
    assert result.created == 3


def test_user_text_in_an_error_is_escaped_to_one_line(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: a
          entrypoint: flows/etl.py:load
          schedules:
          - rrule: "FREQ=DAILY;BYHOUR=25\\nEXDATE:x"
        """,
    )
    assert refused([path]) == [
        f"{path}:5: deployments[0].schedules[0].rrule: Invalid RRule string "
        '"FREQ=DAILY;BYHOUR=25\\nEXDATE:x": Unknown string format: X'
    ]


def test_a_repeated_slug_names_both_schedules_and_their_lines(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: a
          entrypoint: flows/etl.py:load
          schedules:
          - cron: "0 0 * * *"
            slug: daily
          - interval: 600
          - cron: "0 1 * * *"
            slug: daily
        """,
    )
    assert refused([path]) == [
        f"{path}:9: deployments[0].schedules[2].slug: slugs must be unique: schedules[0] and "
        f"schedules[2] are both 'daily' (and {path}:6: deployments[0].schedules[0].slug)"
    ]
