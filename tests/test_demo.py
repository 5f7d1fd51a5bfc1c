import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from catalog.models import Deployment, DeploymentSchedule, ScheduleKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def login_file_in_tmp(tmp_path, settings):
    settings.BASE_DIR = tmp_path


def test_the_demo_loads_a_dozen_varied_deployments(capsys):
    call_command("setup_demo")
    assert Deployment.objects.count() == 12
    kinds = set(DeploymentSchedule.objects.values_list("kind", flat=True))
    assert kinds == set(ScheduleKind.values)
    assert Deployment.objects.filter(paused=True).exists()
    assert Deployment.objects.filter(global_concurrency_limit__isnull=False).exists()
    assert "Admin login: admin / " in capsys.readouterr().out


def test_running_the_demo_twice_keeps_the_same_rows_and_login(capsys):
    call_command("setup_demo")
    first_ids = set(DeploymentSchedule.objects.values_list("id", flat=True))
    first = capsys.readouterr().out.splitlines()[-1]
    call_command("setup_demo")
    assert set(DeploymentSchedule.objects.values_list("id", flat=True)) == first_ids
    assert capsys.readouterr().out.splitlines()[-1] == first
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_every_demo_deployment_reads_through_the_api(api_client):
    call_command("setup_demo")
    for deployment in Deployment.objects.all():
        response = api_client.get(f"/api/deployments/{deployment.id}")
        assert response.status_code == 200
        assert response.json()["name"] == deployment.name
