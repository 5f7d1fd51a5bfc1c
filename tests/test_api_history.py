"""The change history through the API door: what API writes record, and the history and
restore routes (`catalog/api/views/history.py`)."""

import pytest

from catalog.models import ChangeSet, Deployment
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set
from catalog.services.history_restore import deployment_restore
from tests.factories import DeploymentFactory

pytestmark = pytest.mark.django_db

COMMAND = WriteContext(Actor.system("a test"), Door.COMMAND)


# The write core's restore inside a door's change set ---------------------------------------


def test_a_restore_inside_an_open_change_set_returns_the_version_it_recorded():
    deployment = DeploymentFactory(description="first")
    with change_set(COMMAND):
        Deployment.objects.filter(id=deployment.id).update(description="second")
    with change_set(COMMAND):
        restored = deployment_restore(deployment_id=deployment.id, number=1, context=COMMAND)
        assert (restored.number, restored.kind, restored.restored_from) == (3, "restored", 1)
    assert ChangeSet.objects.filter(door=Door.COMMAND).count() == 2
    assert Deployment.objects.get(id=deployment.id).description == "first"
