"""Every admin page of every model opens for staff (the browser tests come with the ops tool)."""

import pytest
from django.urls import reverse

from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentScheduleFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ["flow", "deployment", "deploymentschedule", "concurrencylimit", "workpool", "workqueue"]


@pytest.fixture
def catalog_rows():
    schedule = DeploymentScheduleFactory()
    queue = WorkQueueFactory()
    limit = ConcurrencyLimitFactory()
    deployment = schedule.deployment
    deployment.work_queue, deployment.global_concurrency_limit = queue, limit
    deployment.save()
    return {
        "flow": deployment.flow,
        "deployment": deployment,
        "deploymentschedule": schedule,
        "concurrencylimit": limit,
        "workpool": queue.work_pool,
        "workqueue": queue,
    }


@pytest.mark.parametrize("model", MODELS)
def test_the_list_add_and_change_pages_open(admin_client, catalog_rows, model):
    row = catalog_rows[model]
    for url in (
        reverse(f"admin:catalog_{model}_changelist"),
        reverse(f"admin:catalog_{model}_add"),
        reverse(f"admin:catalog_{model}_change", args=[row.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url


def test_the_admin_needs_a_login(client):
    response = client.get(reverse("admin:catalog_deployment_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
