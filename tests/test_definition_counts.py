"""The schedule definitions' counts kept by triggers (issue 17): whoever writes schedules
or deployments, the counts are those the fleet calendar's grouping of every schedule
gives, so its unfiltered week reads them instead of grouping again after each change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection

from catalog.admin.calendar_data import (
    Filters,
    counted_definition_groups,
    definition_groups,
    stored_definition_groups,
)
from catalog.importing.run import import_paths
from catalog.models import DefinitionCount, Deployment, DeploymentSchedule, Flow, PendingChange
from catalog.models.definition_counts import compact_definition_counts, count_every_definition
from catalog.rules.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
from tests.conftest import prefect_file
from tests.factories import DeploymentFactory, DeploymentScheduleFactory, FlowFactory
from tests.test_calendar import make_fleet

pytestmark = pytest.mark.django_db

MOST = 10_000


def kept() -> list:
    return sorted(map(repr, counted_definition_groups(MOST)))


def grouped() -> list:
    return sorted(map(repr, definition_groups(Filters(), MOST)))


def assert_counts_follow_the_schedules() -> None:
    assert kept() == grouped()


@pytest.fixture
def fleet():
    """Interval schedules whose anchors share a phase (and some that do not: a daily
    interval in a zone with DST keeps its anchor), crons and rrules."""
    made = make_fleet(12)
    anchor = datetime(2026, 1, 1, 5, tzinfo=UTC)
    for number, deployment in enumerate(made[:4]):
        DeploymentScheduleFactory(
            deployment=deployment,
            schedule=IntervalSchedule(86400.0, anchor + timedelta(days=number), "Europe/Berlin"),
            slug="berlin-daily",
        )
    for number, deployment in enumerate(made[4:8]):
        DeploymentScheduleFactory(
            deployment=deployment,
            schedule=IntervalSchedule(3600.0, anchor + timedelta(hours=number * 5), "UTC"),
            slug="same-minute",
        )
    return made


def test_the_counts_are_the_grouping_of_every_counted_schedule(fleet):
    assert DefinitionCount.objects.exists()
    assert_counts_follow_the_schedules()
    hourly = [
        group for group in counted_definition_groups(MOST) if group.definition.kind == "interval"
    ]
    assert max(group.schedules for group in hourly) > 1  # anchors with one phase share a row


def test_pausing_resuming_and_deleting_deployments_are_counted(fleet):
    one, two, three = fleet[:3]
    one.paused = True
    one.save()
    assert_counts_follow_the_schedules()
    Deployment.objects.filter(pk__in=[two.pk, three.pk]).update(paused=True)
    assert_counts_follow_the_schedules()
    Deployment.objects.filter(pk=two.pk).update(paused=False)
    assert_counts_follow_the_schedules()
    three.delete()
    one.delete()
    assert_counts_follow_the_schedules()


def test_schedules_switched_off_changed_moved_and_deleted_are_counted(fleet):
    DeploymentSchedule.objects.filter(slug="weekdays", deployment__in=fleet[:5]).update(
        active=False
    )
    assert_counts_follow_the_schedules()
    schedule = DeploymentSchedule.objects.filter(slug="hourly").first()
    schedule.schedule = CronSchedule("*/5 * * * *", "UTC")
    schedule.save()
    assert_counts_follow_the_schedules()
    DeploymentSchedule.objects.filter(pk=schedule.pk).update(deployment=fleet[-1])
    assert_counts_follow_the_schedules()
    DeploymentSchedule.objects.filter(slug="daily").delete()
    assert_counts_follow_the_schedules()


def test_a_schedule_of_a_paused_deployment_and_a_deleted_flow_are_counted():
    flow = FlowFactory()
    paused = DeploymentFactory(flow=flow, paused=True)
    DeploymentScheduleFactory(deployment=paused)
    running = DeploymentFactory(flow=flow)
    DeploymentScheduleFactory(
        deployment=running, schedule=RRuleSchedule("FREQ=HOURLY;BYMINUTE=5", "UTC")
    )
    assert_counts_follow_the_schedules()
    assert sum(group.schedules for group in counted_definition_groups(MOST)) == 1
    Flow.objects.filter(pk=flow.pk).delete()
    assert counted_definition_groups(MOST) == []


def test_the_importer_s_writes_are_counted():
    import_paths([prefect_file("20_get_deployment_full.json")], flow_name="anchor-etl")
    assert DeploymentSchedule.objects.filter(active=True).exists()
    assert DefinitionCount.objects.exists()
    assert_counts_follow_the_schedules()


def test_raw_sql_is_counted(fleet):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_deploymentschedule SET active = NOT active WHERE slug = 'hourly'"
        )
        cursor.execute("DELETE FROM catalog_deploymentschedule WHERE slug = 'berlin-daily'")
    assert_counts_follow_the_schedules()


def test_counting_afresh_gives_the_counts_the_triggers_kept(fleet):
    before = kept()
    count_every_definition(connection)
    assert kept() == before


def test_the_unfiltered_calendar_reads_the_counts_in_one_query(fleet, django_assert_num_queries):
    DeploymentScheduleFactory(
        deployment=fleet[0],
        schedule=IntervalSchedule(60.0, datetime(2026, 1, 1, tzinfo=UTC), "UTC"),
        slug="minutely",
    )
    with django_assert_num_queries(1):
        groups = stored_definition_groups(Filters(), MOST)
    assert sorted(map(repr, groups)) == grouped()


def test_emptying_the_counts_before_the_schedules_shows_no_count_below_zero(fleet):
    """Django's flush (between browser tests) deletes table by table, on SQLite with
    DELETE, whose triggers then take away counts that are gone."""
    DefinitionCount.objects.all().delete()
    DeploymentSchedule.objects.filter(slug="hourly").delete()
    Deployment.objects.filter(pk=fleet[0].pk).delete()
    assert all(group.schedules > 0 for group in counted_definition_groups(MOST))
    compact_definition_counts()
    assert all(group.schedules > 0 for group in counted_definition_groups(MOST))


def test_a_flush_leaves_no_count_and_no_history_mark_behind(fleet):
    """SQLite's flush deletes the tables in no set order; deleted after the counts and
    the marks, the schedules and deployments leave a count below zero and marks behind,
    which `post_migrate` (sent by flush) clears."""
    DefinitionCount.objects.all().delete()
    PendingChange.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM catalog_deploymentschedule")
        cursor.execute("DELETE FROM catalog_deployment")
    assert DefinitionCount.objects.exists() and PendingChange.objects.exists()
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    assert not DefinitionCount.objects.exists() and not PendingChange.objects.exists()
    make_fleet(3, prefix="after-flush")
    assert_counts_follow_the_schedules()


def test_changes_add_rows_and_compaction_sums_them_into_one_a_definition(fleet):
    before = kept()
    for _ in range(3):
        Deployment.objects.filter(pk=fleet[0].pk).update(paused=True)
        Deployment.objects.filter(pk=fleet[0].pk).update(paused=False)
    rows = DefinitionCount.objects.count()
    compact_definition_counts()
    assert kept() == before == grouped()
    definitions = len(set(DefinitionCount.objects.values_list(*DefinitionCount.DEFINITION_FIELDS)))
    assert DefinitionCount.objects.count() == definitions < rows


def test_the_calendar_compacts_the_counts_once_changes_pile_up(fleet, monkeypatch):
    monkeypatch.setattr("catalog.admin.calendar_data.COMPACT_ABOVE_ROWS", 20)
    for _ in range(10):
        Deployment.objects.filter(pk=fleet[0].pk).update(paused=True)
        Deployment.objects.filter(pk=fleet[0].pk).update(paused=False)
    piled = DefinitionCount.objects.count()
    assert sorted(map(repr, counted_definition_groups(MOST))) == grouped()
    assert DefinitionCount.objects.count() < piled
    assert_counts_follow_the_schedules()


def test_an_import_leaves_one_row_a_definition():
    import_paths([prefect_file("20_get_deployment_full.json")], flow_name="anchor-etl")
    definitions = len(set(DefinitionCount.objects.values_list(*DefinitionCount.DEFINITION_FIELDS)))
    assert DefinitionCount.objects.count() == definitions


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_two_open_transactions_changing_one_definition_do_not_wait_for_each_other():
    """An import's long transaction and an API write touch the same definitions: the
    counts only ever gain rows, so neither waits for the other's commit."""
    import psycopg

    made = make_fleet(2)
    settings = connection.settings_dict
    conninfo = {
        "host": settings["HOST"] or "127.0.0.1",
        "port": settings["PORT"] or 5432,
        "user": settings["USER"],
        "dbname": settings["NAME"],
    }
    update = "UPDATE catalog_deploymentschedule SET active = false WHERE deployment_id = %s"
    with psycopg.connect(**conninfo) as first, psycopg.connect(**conninfo) as second:
        first.execute(update, [made[0].pk])  # left open: its transaction holds its rows
        second.execute("SET lock_timeout = '2s'")
        second.execute(update, [made[1].pk])  # the same three definitions
        second.commit()
        first.commit()
    assert_counts_follow_the_schedules()
    assert counted_definition_groups(MOST) == []
