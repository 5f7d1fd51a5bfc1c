"""`manage.py warm_json`: after `migrate` clears every kept body, it renders and keeps them
all again, in batches, leaving alone what a write changed meanwhile."""

import io
import json

import pytest
from django.core.management import call_command

from catalog.models import DeploymentJson
from catalog.rendering.deployment_json import rendered_deployments
from catalog.rendering.json_cache import install_triggers, warm_bodies
from catalog.rendering.jsontext import dumps
from tests.factories import DeploymentFactory, DeploymentScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cold_catalog():
    deployments = DeploymentFactory.create_batch(7)
    for deployment in deployments[:3]:
        DeploymentScheduleFactory(deployment=deployment)
    install_triggers()  # what `migrate` runs: every body is cleared
    return deployments


def kept_bodies() -> dict:
    return dict(DeploymentJson.objects.values_list("deployment_id", "body"))


def test_migrate_leaves_every_body_cold(cold_catalog):
    assert set(kept_bodies().values()) == {None}


def test_it_keeps_every_body_as_a_read_would_render_it(cold_catalog):
    out, err = io.StringIO(), io.StringIO()
    call_command("warm_json", "--batch", "3", stdout=out, stderr=err)
    ids = [deployment.id for deployment in cold_catalog]
    expected = {
        id: dumps(data).decode() for id, data in rendered_deployments(ids, "default").items()
    }
    assert kept_bodies() == expected
    assert out.getvalue() == "kept 7 deployment bodies\n"
    lines = err.getvalue().splitlines()
    assert [line.split(" ")[0] for line in lines] == ["3/7", "6/7", "7/7"]
    assert all("/s, about" in line for line in lines)


def test_a_second_run_finds_nothing_to_do(cold_catalog):
    call_command("warm_json", stdout=io.StringIO(), stderr=io.StringIO())
    out = io.StringIO()
    call_command("warm_json", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "kept 0 deployment bodies\n"


def test_a_deployment_changed_while_warming_keeps_its_new_body(cold_catalog):
    batches = warm_bodies(batch=2)
    next(batches)
    last = max(cold_catalog, key=lambda deployment: deployment.id)
    last.description = "changed while warming"
    last.save()
    list(batches)
    body = kept_bodies()[last.id]
    assert body is not None and json.loads(body)["description"] == "changed while warming"


def test_each_batch_costs_the_same_queries(cold_catalog, django_assert_num_queries):
    # A count, then per batch: the page of ids, the versions, the deployments, their
    # schedules, and the update that keeps the bodies (no queue or limit in these).
    batches = warm_bodies(batch=3)
    with django_assert_num_queries(1 + 5):
        next(batches)
    with django_assert_num_queries(5):
        next(batches)


def test_a_batch_below_one_is_refused():
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("warm_json", "--batch", "0", stderr=err)
    assert exit_info.value.code == 2
    assert "--batch must be at least 1" in err.getvalue()
