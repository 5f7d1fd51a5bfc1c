"""prefect.yaml templates: an import stores what `prefect deploy --all --no-prompt` of
Prefect 3.9.1 stored for the same project, environment, variables and pools (captured
in tests/data/prefect-deploy-*; see capture.py there), ids and timestamps masked."""

import json
import os
from pathlib import Path

import pytest

from catalog.importing.run import import_paths
from catalog.models import Deployment, Variable, WorkQueue
from tests.replay import database_fingerprint, shape
from tests.test_import_yaml import pool_named, project_with
from tests.test_importer import refused, rendered

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
TEMPLATING = DATA / "prefect-deploy-templating"


def read(path: Path):
    return json.loads(path.read_text())


@pytest.fixture
def as_captured(monkeypatch):
    """The environment, variables and work pools the capture ran with."""
    for name in [name for name in os.environ if name.startswith("UNSET_")]:
        monkeypatch.delenv(name)
    for name, value in read(TEMPLATING / "env.json").items():
        monkeypatch.setenv(name, value)
    for variable in read(TEMPLATING / "variables.json"):
        Variable.objects.create(**variable)
    for pool in read(TEMPLATING / "pools.json"):
        pool_named(pool["name"], pool["type"])


def stored_bodies() -> list[dict]:
    return [
        rendered(str(pk)) for pk in Deployment.objects.order_by("name").values_list("id", flat=True)
    ]


def test_the_import_stores_what_prefect_deploy_stored(as_captured):
    import_paths([TEMPLATING / "project" / "prefect.yaml"])
    captured = read(TEMPLATING / "stored.json")["deployments"]
    assert shape(stored_bodies()) == shape(captured)


def warnings_of(result) -> list[str]:
    return [note for note in result.notes if note.startswith("warning:")]


def test_a_missing_variable_is_emptied_with_a_warning_naming_it_and_its_place(as_captured):
    result = import_paths([TEMPLATING / "project" / "prefect.yaml"])
    source = TEMPLATING / "project" / "prefect.yaml"
    missing = [note for note in warnings_of(result) if "'not_defined'" in note]
    assert missing == [
        f"warning: {source}:29: deployments[0].parameters.missing_var: variable 'not_defined' "
        'does not exist; {{ prefect.variables.not_defined }} stored as "", as prefect deploy does',
        f"warning: {source}:30: deployments[0].parameters.missing_inline: variable "
        "'not_defined' does not exist; {{ prefect.variables.not_defined }} cut out of the "
        "text, as prefect deploy does",
    ]


def test_a_queue_the_pool_lacks_is_made_as_prefect_deploy_makes_it(as_captured):
    result = import_paths([TEMPLATING / "project" / "prefect.yaml"])
    captured = read(TEMPLATING / "stored.json")["work_queues"]["ops"]
    fields = ("name", "description", "is_paused", "concurrency_limit", "priority")
    made = WorkQueue.objects.filter(work_pool__name="ops").order_by("priority")
    assert list(made.values_list(*fields)) == [tuple(q[f] for f in fields) for q in captured]
    source = TEMPLATING / "project" / "prefect.yaml"
    assert (
        f"warning: {source}:38: deployments[0].work_pool.work_queue_name: work queue 'reports' "
        "does not exist in work pool 'ops'; the import makes it, as `prefect deploy` does"
    ) in result.notes


def test_a_work_pool_that_does_not_exist_is_refused_as_prefect_deploy_refuses_it(tmp_path):
    capture = DATA / "prefect-deploy-missing-pool"
    said = (capture / "deploy.out").read_text()
    assert said.startswith("exit code: 1\n")
    assert "references work pool 'nowhere' which does not \nexist." in said
    pool_named("ops")
    before = database_fingerprint()
    path = capture / "project" / "prefect.yaml"
    assert refused([path]) == [
        f"{path}:17: deployments[1].work_pool.name: work pool 'nowhere' does not exist; "
        "`prefect deploy` refuses it too (make the pool first, e.g. with "
        "`prefect work-pool create`)"
    ]
    assert database_fingerprint() == before


def test_a_prefect_agent_pool_prefect_deploy_refuses_is_taken_with_a_warning(tmp_path):
    pool_named("agents", "prefect-agent")
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: old
          entrypoint: flows/etl.py:load
          work_pool:
            name: agents
        """,
    )
    assert warnings_of(import_paths([path])) == [
        f"warning: {path}:5: deployments[0].work_pool.name: work pool 'agents' is of type "
        "'prefect-agent', which `prefect deploy` refuses; the import takes it"
    ]


def test_a_block_template_is_refused_outside_pull_steps(tmp_path):
    path = project_with(
        tmp_path,
        """
        pull:
        - prefect.deployments.steps.git_clone:
            credentials: "{{ prefect.blocks.github-credentials.key }}"
        deployments:
        - name: blocked
          entrypoint: flows/etl.py:load
          parameters:
            token: "x {{ prefect.blocks.secret.token }}"
        """,
    )
    assert refused([path]) == [
        f"{path}:8: deployments[0].parameters.token: {{{{ prefect.blocks.secret.token }}}} "
        "names a block; the catalog keeps no blocks, so it cannot be filled (in pull steps "
        "it is kept for run time)"
    ]


def test_a_work_pool_a_bundle_of_the_same_import_defines_counts_as_existing(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: on-a-new-pool
          entrypoint: flows/etl.py:load
          work_pool:
            name: from-the-bundle
            work_queue_name: nightly
        """,
    )
    # A pool as Prefect's server answers it (captured by the CLI's day), under a new name.
    captured = read(DATA / "prefect-cli" / "captured.json")["stored"]["first-deploy"]
    pool = {**captured["work_pools"][0], "name": "from-the-bundle", "queues": []}
    pools = tmp_path / "pools.json"
    pools.write_text(json.dumps({"work_pools": [pool]}))
    assert refused([path])[0].endswith(
        "work pool 'from-the-bundle' does not exist; "
        "`prefect deploy` refuses it too (make the pool first, e.g. with "
        "`prefect work-pool create`)"
    )

    result = import_paths([path, pools])  # the prefect.yaml named first: read last

    assert result.created == 1
    deployment = Deployment.objects.get(name="on-a-new-pool")
    assert (deployment.work_queue.work_pool.name, deployment.work_queue.name) == (
        "from-the-bundle",
        "nightly",
    )
    assert warnings_of(result) == [
        f"warning: {path}:6: deployments[0].work_pool.work_queue_name: work queue 'nightly' "
        "does not exist in work pool 'from-the-bundle'; the import makes it, as `prefect "
        "deploy` does"
    ]


def test_max_scheduled_runs_which_prefect_deploy_refuses_is_taken_with_a_warning(tmp_path):
    path = project_with(
        tmp_path,
        """
        deployments:
        - name: capped
          entrypoint: flows/etl.py:load
          schedules:
          - interval: 600
            slug: ten-minutes
            max_scheduled_runs: 5
        """,
    )
    result = import_paths([path])
    assert warnings_of(result) == [
        f"warning: {path}:7: deployments[0].schedules[0].max_scheduled_runs: `prefect "
        "deploy` refuses this key (its schedules take only cron, interval, rrule, timezone, "
        "anchor_date, active, parameters, slug, replaces and day_or); the import takes it"
    ]
    (schedule,) = Deployment.objects.get(name="capped").schedules.all()
    assert schedule.max_scheduled_runs == 5
