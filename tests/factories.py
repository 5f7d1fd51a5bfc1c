"""Factories that always build valid catalog rows."""

from datetime import UTC, datetime

import factory
from factory.django import DjangoModelFactory

from catalog.models import (
    ApiKey,
    ApiKeyAccess,
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    Variable,
    WorkPool,
    WorkQueue,
)
from catalog.rules import schedules


class FlowFactory(DjangoModelFactory[Flow]):
    class Meta:
        model = Flow

    name = factory.Sequence(lambda n: f"flow-{n}")


class ConcurrencyLimitFactory(DjangoModelFactory[ConcurrencyLimit]):
    class Meta:
        model = ConcurrencyLimit

    name = factory.Sequence(lambda n: f"limit-{n}")
    limit = 5


class WorkPoolFactory(DjangoModelFactory[WorkPool]):
    class Meta:
        model = WorkPool

    name = factory.Sequence(lambda n: f"pool-{n}")
    type = "process"


class WorkQueueFactory(DjangoModelFactory[WorkQueue]):
    class Meta:
        model = WorkQueue

    name = factory.Sequence(lambda n: f"queue-{n}")
    work_pool = factory.SubFactory(WorkPoolFactory)


class DeploymentFactory(DjangoModelFactory[Deployment]):
    class Meta:
        model = Deployment

    name = factory.Sequence(lambda n: f"deployment-{n}")
    flow = factory.SubFactory(FlowFactory)
    labels = factory.LazyAttribute(lambda d: {"prefect.flow.id": str(d.flow.id)})


class DeploymentScheduleFactory(DjangoModelFactory[DeploymentSchedule]):
    """An hourly interval schedule; pass `schedule=` for another kind."""

    class Meta:
        model = DeploymentSchedule

    deployment = factory.SubFactory(DeploymentFactory)
    schedule = schedules.IntervalSchedule(3600.0, datetime(2026, 1, 1, tzinfo=UTC), "UTC")
    slug = factory.Sequence(lambda n: f"schedule-{n}")


class VariableFactory(DjangoModelFactory[Variable]):
    class Meta:
        model = Variable

    name = factory.Sequence(lambda n: f"variable-{n}")
    value = factory.Sequence(lambda n: {"setting": n})
    tags = factory.LazyFunction(lambda: ["etl"])


class ApiKeyFactory(DjangoModelFactory[ApiKey]):
    """A write key of its own; its secret, which the database never holds, is `.secret`."""

    class Meta:
        model = ApiKey

    name = factory.Sequence(lambda n: f"key-{n}")
    access = ApiKeyAccess.WRITE

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> ApiKey:
        key = model_class(*args, **kwargs)
        key.secret = key.issue()
        key.save()
        return key
