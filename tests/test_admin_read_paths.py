"""The admin's read paths cost the same queries at any size (issue 17): every filter and
the search of the deployment list, the change page and the fleet calendar take as many
queries for a few deployments as for many; the schedule counts the list's schedule
filters read are kept right by triggers, whoever writes; and past EXACT_COUNT_LIMIT
matches the list shows PostgreSQL's estimate, marked as one. bench/scale.py times the
same paths at 10,000 and 1,000,000 deployments."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.admin import paginator
from catalog.importing.run import import_paths
from catalog.models import (
    Deployment,
    DeploymentSchedule,
    ScheduleCounts,
)
from catalog.models.schedule_counts import install_schedule_count_triggers
from tests.conftest import prefect_file
from tests.factories import (
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)
from tests.test_calendar import calendar_url, make_fleet

pytestmark = pytest.mark.django_db

LIST = "/admin/catalog/deployment/"
SLOT = "admin:catalog_deployment_calendar_slot"


def counts_of(deployment) -> tuple[int, int]:
    row = ScheduleCounts.objects.get(deployment_id=deployment.pk)
    return row.schedules, row.active_schedules


# The schedule counts, kept by triggers ----------------------------------------------------


def test_a_new_deployment_has_no_schedule_counted():
    assert counts_of(DeploymentFactory()) == (0, 0)


def test_the_counts_follow_each_schedule_written_and_deleted():
    deployment = DeploymentFactory()
    first = DeploymentScheduleFactory(deployment=deployment, active=True)
    DeploymentScheduleFactory(deployment=deployment, active=False)
    assert counts_of(deployment) == (2, 1)
    first.active = False
    first.save()
    assert counts_of(deployment) == (2, 0)
    first.delete()
    assert counts_of(deployment) == (1, 0)


def test_a_queryset_update_and_a_schedule_moved_to_another_deployment_are_counted():
    one, other = DeploymentFactory(), DeploymentFactory()
    DeploymentScheduleFactory.create_batch(3, deployment=one, active=False)
    DeploymentSchedule.objects.filter(deployment=one).update(active=True)
    assert counts_of(one) == (3, 3)
    moved = one.schedules.first()
    DeploymentSchedule.objects.filter(pk=moved.pk).update(deployment=other)
    assert (counts_of(one), counts_of(other)) == ((2, 2), (1, 1))


def test_a_deleted_deployment_takes_its_counts_with_it():
    deployment = DeploymentFactory()
    DeploymentScheduleFactory(deployment=deployment)
    deployment.delete()
    assert not ScheduleCounts.objects.filter(deployment_id=deployment.pk).exists()


def test_the_importer_s_writes_are_counted():
    import_paths([prefect_file("20_get_deployment_full.json")], flow_name="anchor-etl")
    deployment = Deployment.objects.get()
    schedules = deployment.schedules.count()
    active = deployment.schedules.filter(active=True).count()
    assert schedules > 1
    assert counts_of(deployment) == (schedules, active)


def test_installing_the_triggers_again_recounts_a_wrong_row():
    deployment = DeploymentFactory()
    DeploymentScheduleFactory(deployment=deployment)
    ScheduleCounts.objects.filter(deployment_id=deployment.pk).update(
        schedules=7, active_schedules=0
    )
    install_schedule_count_triggers()
    assert counts_of(deployment) == (1, 1)


def test_the_schedule_filters_read_the_counts():
    with_active = DeploymentFactory(name="with-active")
    DeploymentScheduleFactory(deployment=with_active, active=True)
    only_inactive = DeploymentFactory(name="only-inactive")
    DeploymentScheduleFactory(deployment=only_inactive, active=False)
    DeploymentFactory(name="none")
    queryset = Deployment.objects.order_by("name")

    def names(rows) -> list[str]:
        return [row.name for row in rows]

    assert names(queryset.with_active_schedule(True)) == ["with-active"]
    assert names(queryset.with_active_schedule(False)) == ["none", "only-inactive"]
    assert names(queryset.with_schedule_kind("none")) == ["none"]


# Queries: the same for a few deployments as for many -------------------------------------


def add_deployments(count: int, flow, queue) -> None:
    for deployment in DeploymentFactory.create_batch(
        count, flow=flow, work_queue=queue, tags=["a", "b", "team-07"], description="nightly load"
    ):
        DeploymentScheduleFactory.create_batch(3, deployment=deployment)


def queries_of(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def every_list_query(flow, queue) -> list[str]:
    return [
        "",
        "p=2",
        "o=-8",
        "paused__exact=1",
        "paused__exact=0",
        "status__exact=READY",
        "status__exact=NOT_READY",
        f"flow__id__exact={flow.pk}",
        f"work_pool={queue.work_pool.name}",
        f"work_queue={queue.pk}",
        "tag=a",
        "tag=a&tag=b",
        "tag=a&tag=zzz&tag_match=any",
        "schedule_kind=interval",
        "schedule_kind=none",
        "active_schedule=yes",
        "active_schedule=no",
        "limited=yes",
        "limited=no",
        "updated__gte=2000-01-01+00%3A00%3A00%2B00%3A00",
        "q=nightly",
        "q=nightly+load",
        "q=team-07",
        "q=team-07&paused__exact=0",
        "q=00000000-0000-0000-0000-000000000000",
    ]


def test_every_filter_and_search_of_the_list_takes_the_same_queries_at_any_size(admin_client):
    flow, queue = FlowFactory(), WorkQueueFactory()
    add_deployments(2, flow, queue)
    queries = every_list_query(flow, queue)
    few = {query: queries_of(admin_client, f"{LIST}?{query}") for query in queries}
    add_deployments(60, flow, queue)
    many = {query: queries_of(admin_client, f"{LIST}?{query}") for query in queries}
    assert many == few


def test_the_change_page_takes_the_same_queries_whatever_the_catalog_s_size(admin_client):
    flow, queue = FlowFactory(), WorkQueueFactory()
    add_deployments(2, flow, queue)
    deployment = Deployment.objects.order_by("name").first()
    url = reverse("admin:catalog_deployment_change", args=[deployment.pk])
    queries_of(admin_client, url)  # renders the API's JSON and keeps it
    few = queries_of(admin_client, url)
    add_deployments(40, flow, queue)
    assert queries_of(admin_client, url) == few


CALENDAR_PAGES = [
    {"day": "2026-03-23", "zone": "Europe/Berlin"},
    {"day": "2026-03-23", "view": "day"},
    {"day": "2026-03-23", "flow": "calendar-flow"},
    {"day": "2026-03-23", "work_pool": "calendar-pool"},
    {"day": "2026-03-23", "work_queue": "calendar-queue"},
    {"day": "2026-03-23", "tags": "a, zzz"},
]


def calendar_fleet(size: int, prefix: str, flow, queue) -> None:
    make_fleet(size, prefix=prefix, flow=flow, work_queue=queue, tags=["a"])


@pytest.mark.parametrize("query", CALENDAR_PAGES, ids=lambda query: "-".join(query))
def test_each_calendar_view_and_filter_takes_the_same_queries_at_any_size(admin_client, query):
    flow = FlowFactory(name="calendar-flow")
    queue = WorkQueueFactory(name="calendar-queue", work_pool__name="calendar-pool")
    calendar_fleet(3, "few", flow, queue)
    url = calendar_url(**query)
    queries_of(admin_client, url)  # expansions computed and kept
    few = queries_of(admin_client, url)
    calendar_fleet(30, "many", flow, queue)
    queries_of(admin_client, url)
    assert queries_of(admin_client, url) == few


def test_a_slot_of_a_filtered_calendar_takes_the_same_queries_at_any_size(admin_client):
    flow = FlowFactory(name="calendar-flow")
    queue = WorkQueueFactory(name="calendar-queue", work_pool__name="calendar-pool")
    calendar_fleet(3, "few", flow, queue)
    start = 9 * 60
    url = (
        reverse(SLOT) + f"?day=2026-03-23&zone=UTC&flow=calendar-flow&tags=a"
        f"&from={start}&to={start + 60}"
    )
    queries_of(admin_client, url)
    few = queries_of(admin_client, url)
    calendar_fleet(60, "many", flow, queue)
    queries_of(admin_client, url)
    response_queries = queries_of(admin_client, url)
    assert response_queries == few


# Counts past the exact limit ---------------------------------------------------------------


@pytest.fixture
def small_exact_limit(monkeypatch):
    monkeypatch.setattr(paginator, "EXACT_COUNT_LIMIT", 5)


def test_a_filtered_list_past_the_exact_limit_shows_an_estimate_on_postgres(
    admin_client, small_exact_limit
):
    flow, queue = FlowFactory(), WorkQueueFactory()
    add_deployments(8, flow, queue)
    response = admin_client.get(f"{LIST}?tag=a")
    page = response.content.decode()
    count = response.context["cl"].result_count
    if connection.vendor == "postgresql":
        assert response.context["cl"].paginator.estimated
        assert count >= 6
        assert 'class="estimated-count"' in page
        assert f"about </span>{count} deployments" in page
    else:
        assert count == 8
        assert "estimated-count" not in page


def test_a_filtered_list_within_the_exact_limit_is_counted_exactly(admin_client, small_exact_limit):
    flow, queue = FlowFactory(), WorkQueueFactory()
    add_deployments(4, flow, queue)
    DeploymentFactory.create_batch(4, tags=["other"])
    response = admin_client.get(f"{LIST}?tag=a")
    assert response.context["cl"].result_count == 4
    assert not response.context["cl"].paginator.estimated
    assert "estimated-count" not in response.content.decode()


def test_an_unfiltered_list_past_the_exact_limit_shows_the_table_s_estimate_on_postgres(
    admin_client, small_exact_limit
):
    flow, queue = FlowFactory(), WorkQueueFactory()
    add_deployments(8, flow, queue)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_deployment")
    response = admin_client.get(LIST)
    assert response.context["cl"].result_count == 8
    estimated = response.context["cl"].paginator.estimated
    assert estimated == (connection.vendor == "postgresql")


def test_a_slot_with_more_deployments_than_the_exact_limit_says_more_than(
    admin_client, monkeypatch
):
    from catalog.admin import calendar_data

    monkeypatch.setattr(calendar_data, "SLOT_EXACT_LIMIT", 3)
    make_fleet(5)
    start = 9 * 60
    url = reverse(SLOT) + f"?day=2026-03-23&zone=UTC&from={start}&to={start + 60}"
    response = admin_client.get(url)
    page = response.content.decode()
    assert response.context["capped"]
    assert "<strong>More than 3</strong> deployments" in page
    # The pages reach the deployments counted: the limit and one more.
    assert len(response.context["rows"]) == 4


def test_past_the_sample_limit_postgres_offers_the_tags_of_a_sample(monkeypatch):
    from catalog.admin import filters

    DeploymentFactory.create_batch(6, tags=["a", "b"])
    assert filters.most_used_tags(50) == ["a", "b"]
    monkeypatch.setattr(filters, "TAG_SAMPLE_ROWS", 2)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE catalog_deployment")
        assert "TABLESAMPLE" in filters.tag_sample()
    assert set(filters.most_used_tags(50)) <= {"a", "b"}
