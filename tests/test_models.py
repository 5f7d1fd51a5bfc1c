"""Rules the database holds, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentSchedule,
    Flow,
    WorkQueue,
)
from catalog.models.base import validate_tags
from catalog.rules import schedules
from tests.factories import (
    ConcurrencyLimitFactory,
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    VariableFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db


def refused_by_database(create) -> bool:
    try:
        with transaction.atomic():
            create()
    except IntegrityError:
        return True
    return False


def test_flow_names_are_unique():
    FlowFactory(name="etl")
    assert refused_by_database(lambda: Flow.objects.create(name="etl"))


@pytest.mark.parametrize("name", ["a/b", "50%", "x&y", "<tag>", ""])
def test_the_database_refuses_flow_names_prefect_refuses(name):
    assert refused_by_database(lambda: Flow.objects.create(name=name))


@pytest.mark.parametrize("factory", [FlowFactory, DeploymentFactory, VariableFactory])
def test_the_database_refuses_more_tags_than_a_row_holds(factory):
    row = factory(tags=[f"t{n}" for n in range(100)])
    more = [*row.tags, "one-more"]
    assert refused_by_database(lambda: type(row).objects.filter(pk=row.pk).update(tags=more))


def test_a_tag_list_is_checked_for_count_and_length():
    with pytest.raises(ValidationError, match="at most 100 tags"):
        validate_tags([f"t{n}" for n in range(101)])
    with pytest.raises(ValidationError, match="longer than 255 characters"):
        validate_tags(["x" * 256])
    validate_tags(["x" * 255] * 100)


def test_deployment_names_are_unique_per_flow_not_globally():
    first = DeploymentFactory(name="nightly")
    DeploymentFactory(name="nightly")
    assert refused_by_database(lambda: Deployment.objects.create(flow=first.flow, name="nightly"))


def test_a_deployment_may_have_an_empty_name():
    assert DeploymentFactory(name="").name == ""


def test_schedule_slugs_are_unique_per_deployment_but_nulls_repeat():
    schedule = DeploymentScheduleFactory(slug="hourly")
    DeploymentScheduleFactory(deployment=schedule.deployment, slug=None)
    DeploymentScheduleFactory(deployment=schedule.deployment, slug=None)
    assert refused_by_database(
        lambda: DeploymentScheduleFactory(deployment=schedule.deployment, slug="hourly")
    )


def test_a_schedule_row_holds_exactly_one_kind():
    schedule = DeploymentScheduleFactory()
    assert refused_by_database(
        lambda: DeploymentSchedule.objects.filter(id=schedule.id).update(cron="* * * * *")
    )
    assert refused_by_database(
        lambda: DeploymentSchedule.objects.filter(id=schedule.id).update(kind="cron")
    )


def test_an_interval_must_be_positive_in_the_database():
    schedule = DeploymentScheduleFactory()
    assert refused_by_database(
        lambda: DeploymentSchedule.objects.filter(id=schedule.id).update(interval=0)
    )


def test_limits_cannot_be_negative():
    limit = ConcurrencyLimitFactory()
    assert refused_by_database(
        lambda: ConcurrencyLimit.objects.filter(id=limit.id).update(limit=-1)
    )
    queue = WorkQueueFactory()
    assert refused_by_database(lambda: WorkQueue.objects.filter(id=queue.id).update(priority=0))


def test_max_scheduled_runs_must_be_positive():
    schedule = DeploymentScheduleFactory()
    assert refused_by_database(
        lambda: DeploymentSchedule.objects.filter(id=schedule.id).update(max_scheduled_runs=0)
    )


def test_a_grace_period_needs_a_collision_strategy_and_a_range():
    deployment = DeploymentFactory()
    rows = Deployment.objects.filter(id=deployment.id)
    assert refused_by_database(lambda: rows.update(concurrency_grace_period_seconds=120))
    assert refused_by_database(
        lambda: rows.update(
            concurrency_collision_strategy="ENQUEUE", concurrency_grace_period_seconds=59
        )
    )
    rows.update(concurrency_collision_strategy="ENQUEUE", concurrency_grace_period_seconds=60)


def test_deleting_a_flow_deletes_its_deployments_and_their_schedules():
    schedule = DeploymentScheduleFactory()
    schedule.deployment.flow.delete()
    assert not Deployment.objects.exists()
    assert not DeploymentSchedule.objects.exists()


def test_deleting_a_queue_or_limit_unlinks_the_deployment():
    limit = ConcurrencyLimitFactory()
    queue = WorkQueueFactory()
    deployment = DeploymentFactory(work_queue=queue, global_concurrency_limit=limit)
    queue.delete()
    limit.delete()
    deployment.refresh_from_db()
    assert (deployment.work_queue_id, deployment.global_concurrency_limit_id) == (None, None)


def test_work_pool_and_queue_names_are_derived_from_the_linked_queue():
    queue = WorkQueueFactory(name="gpu", work_pool__name="k8s")
    deployment = DeploymentFactory(work_queue=queue)
    assert (deployment.work_pool_name, deployment.work_queue_name) == ("k8s", "gpu")
    assert (DeploymentFactory().work_pool_name, DeploymentFactory().work_queue_name) == (None, None)


def test_saving_moves_updated_forward_but_keeps_created():
    deployment = DeploymentFactory()
    created, updated = deployment.created, deployment.updated
    deployment.description = "changed"
    deployment.save()
    assert deployment.created == created
    assert deployment.updated > updated


def test_saving_without_touch_keeps_an_imported_timestamp():
    deployment = DeploymentFactory()
    deployment.updated = datetime(2020, 1, 1, tzinfo=UTC)
    deployment.save(touch=False)
    deployment.refresh_from_db()
    assert deployment.updated == datetime(2020, 1, 1, tzinfo=UTC)


def test_a_schedule_round_trips_its_anchor_offset_through_the_database():
    anchor = datetime(2026, 1, 5, 9, tzinfo=timezone(-timedelta(hours=5)))
    row = DeploymentScheduleFactory(
        schedule=schedules.IntervalSchedule(3600.0, anchor, "America/New_York")
    )
    row.refresh_from_db()
    assert schedules.schedule_to_json(row.schedule)["anchor_date"] == "2026-01-05T09:00:00-05:00"


def test_clean_puts_a_schedule_error_on_its_field():
    row = DeploymentScheduleFactory.build(
        schedule=schedules.CronSchedule("0 0 30 2 *", None, True), deployment=DeploymentFactory()
    )
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "cron" in error.value.message_dict
    assert "never fires" in error.value.message_dict["cron"][0]


def test_clean_checks_the_timezone_with_the_schedule_rules():
    row = DeploymentScheduleFactory.build(deployment=DeploymentFactory())
    row.timezone = "Mars/Base"
    with pytest.raises(ValidationError) as error:
        row.full_clean()
    assert "Invalid timezone" in error.value.message_dict["timezone"][0]


def test_a_schedule_row_gives_its_next_runs():
    row = DeploymentScheduleFactory(schedule=schedules.CronSchedule("0 9 * * *", "UTC", True))
    runs = row.next_runs(datetime(2026, 1, 1, tzinfo=UTC), 2)
    assert runs == [datetime(2026, 1, 1, 9, tzinfo=UTC), datetime(2026, 1, 2, 9, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tags", ["ok", 3]),
        ("labels", {"k": [1]}),
        ("parameters", []),
        ("pull_steps", [1]),
        ("created_by", {"name": "x"}),
        ("job_variables", "x"),
    ],
)
def test_json_fields_are_checked_for_type_and_shape(field, value):
    deployment = DeploymentFactory.build(flow=FlowFactory(), **{field: value})
    with pytest.raises(ValidationError) as error:
        deployment.full_clean()
    assert field in error.value.message_dict


def test_labels_merge_the_flows_then_the_flow_id_then_the_deployments():
    flow = FlowFactory(labels={"team": "data", "k": 1})
    deployment = DeploymentFactory.build(flow=flow, labels={"z": True, "team": "ops"})
    assert list(deployment.labels_with_flow_id().items()) == [
        ("team", "ops"),
        ("k", 1),
        ("prefect.flow.id", str(flow.id)),
        ("z", True),
    ]
