"""The tag rows kept beside the deployments (issue 17): whoever writes a deployment (the
ORM, a queryset update, the importer, raw SQL), its tag rows are its tags with its name
and timestamps; and a page of a tag filter read from them is the page the plain query
gives, in every order, at every offset, with other filters beside it."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.admin.paginator import EstimatedCountPaginator
from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentTag, Flow
from catalog.models.deployment_tags import TABLE, make_every_tag_row
from catalog.models.pages import branched_reader, count_of, page_ids, rarest_tag, tag_condition
from catalog.rules.page_orders import total_order
from tests.conftest import prefect_file
from tests.factories import DeploymentFactory, FlowFactory, WorkQueueFactory

pytestmark = pytest.mark.django_db


def kept_rows() -> set[tuple]:
    rows = DeploymentTag.objects.values_list(
        "deployment_id", "tag", "name", "created", "updated", "tags"
    )
    return {(*row[:-1], tuple(row[-1])) for row in rows}


def expected_rows() -> set[tuple]:
    return {
        (row.id, tag, row.name, row.created, row.updated, tuple(row.tags))
        for row in Deployment.objects.all()
        for tag in row.tags
    }


def assert_rows_follow_the_deployments() -> None:
    assert kept_rows() == expected_rows()


# The rows, kept by triggers -------------------------------------------------------------


def test_a_new_deployment_has_a_row_for_each_of_its_tags():
    deployment = DeploymentFactory(tags=["b", "a", "c"])
    assert sorted(
        DeploymentTag.objects.filter(deployment=deployment).values_list("tag", flat=True)
    ) == [
        "a",
        "b",
        "c",
    ]
    assert_rows_follow_the_deployments()


def test_a_tag_given_twice_makes_one_row():
    DeploymentFactory(tags=["a", "a"])
    assert DeploymentTag.objects.count() == 1


def test_saving_new_tags_a_new_name_or_a_new_time_rewrites_the_rows():
    deployment = DeploymentFactory(tags=["a", "b"])
    deployment.tags = ["b", "c"]
    deployment.save()
    assert_rows_follow_the_deployments()
    deployment.name = "renamed"
    deployment.save()
    assert_rows_follow_the_deployments()
    deployment.save()  # moves `updated`
    assert_rows_follow_the_deployments()


def test_a_queryset_update_and_raw_sql_are_followed():
    one, other = DeploymentFactory(tags=["a"]), DeploymentFactory(tags=["b"])
    Deployment.objects.filter(pk=one.pk).update(tags=["x", "y"], name="one-renamed")
    assert_rows_follow_the_deployments()
    later = datetime(2030, 1, 1, tzinfo=UTC)
    Deployment.objects.update(updated=later)
    assert_rows_follow_the_deployments()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_deployment SET tags = %s WHERE id = %s",
            ['["raw"]', other.pk.hex if connection.vendor == "sqlite" else other.pk],
        )
    assert_rows_follow_the_deployments()


def test_an_update_that_changes_nothing_kept_leaves_the_rows_alone():
    deployment = DeploymentFactory(tags=["a"])
    Deployment.objects.filter(pk=deployment.pk).update(description="only the description")
    assert_rows_follow_the_deployments()


def test_a_deleted_deployment_and_a_deleted_flow_take_their_rows_with_them():
    kept = DeploymentFactory(tags=["a"])
    DeploymentFactory(tags=["a", "b"]).delete()
    flow = FlowFactory()
    DeploymentFactory.create_batch(2, flow=flow, tags=["c"])
    Flow.objects.filter(pk=flow.pk).delete()
    assert list(DeploymentTag.objects.values_list("deployment_id", flat=True)) == [kept.pk]


def test_the_importer_s_writes_are_followed():
    import_paths([prefect_file("20_get_deployment_full.json")], flow_name="anchor-etl")
    deployment = Deployment.objects.get()
    assert deployment.tags
    assert_rows_follow_the_deployments()


def test_the_migration_makes_the_rows_of_deployments_stored_before_it():
    DeploymentFactory.create_batch(3, tags=["a", "b"])
    DeploymentFactory(tags=[])
    DeploymentTag.objects.all().delete()
    make_every_tag_row(connection)
    assert len(kept_rows()) == 6
    assert_rows_follow_the_deployments()


def test_a_row_carries_the_whole_list_as_the_deployment_holds_it():
    deployment = DeploymentFactory(tags=["b", "a", "b", "ü"])
    lists = DeploymentTag.objects.filter(deployment=deployment).values_list("tags", flat=True)
    assert list(lists) == [["b", "a", "b", "ü"]] * 3
    Deployment.objects.filter(pk=deployment.pk).update(tags=["a", "c"])
    assert_rows_follow_the_deployments()


@pytest.mark.django_db(transaction=True)
def test_migrating_back_before_the_lists_and_forward_again_keeps_the_rows_right():
    """Back at 0023 the table has no list and the triggers write none; forward again,
    0024 makes every row anew with its list."""
    DeploymentFactory(tags=["a", "b"])
    try:
        call_command("migrate", "catalog", "0023", verbosity=0)
        with connection.cursor() as cursor:
            table = connection.introspection.get_table_description(cursor, TABLE)
            assert "tags" not in [column.name for column in table]
            DeploymentFactory(tags=["c"])  # written by the triggers of 0023's table
            cursor.execute(f"SELECT tag FROM {TABLE} ORDER BY tag")
            assert cursor.fetchall() == [("a",), ("b",), ("c",)]
    finally:
        call_command("migrate", "catalog", verbosity=0)
    assert len(kept_rows()) == 3
    assert_rows_follow_the_deployments()
    DeploymentFactory(tags=["d"])
    assert_rows_follow_the_deployments()


# Pages read from the rows: the plain query's pages ------------------------------------------

TAGS = ["env-prod", "env-staging", "team-1", "team-2", "team-3", "catalog"]


@pytest.fixture
def tagged_catalog():
    """40 deployments over two flows and two queues, names repeating across the flows,
    timestamps tied in pairs, tags cycling so that each filter matches some."""
    flows = [FlowFactory(name="flow-a"), FlowFactory(name="flow-b")]
    queues = [WorkQueueFactory(), WorkQueueFactory()]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(40):
        DeploymentFactory(
            name=f"job-{(n * 7) % 20:02d}",
            flow=flows[n // 20],
            work_queue=queues[n % 3 % 2],
            paused=n % 5 == 0,
            tags=[TAGS[n % 2], TAGS[2 + n % 3], *(["catalog"] if n % 4 else [])],
        )
    for n, deployment in enumerate(Deployment.objects.order_by("id")):
        moment = start + timedelta(minutes=n // 2)
        Deployment.objects.filter(pk=deployment.pk).update(created=moment, updated=moment)
    return queues


# The API's sorts, which an index gives whole (`total_order`), and `-name, id`, which
# walks `name` backwards, then sorts ties.
INDEX_ORDERS = [total_order([column]) for column in ("name", "-name", "-created", "-updated")]
ORDERS = [*INDEX_ORDERS, ["-name", "id"]]
# A tag index walked forward or backward (`name DESC, id DESC`).
TAG_INDEX_WALK = r"Scan (Backward )?using catalog_tag_"
TAG_FILTERS = [
    {"tags__has_any_tags": ["team-1"]},
    {"tags__has_any_tags": ["team-1", "team-3", "nope"]},
    {"tags__has_any_tags": ["catalog", "env-prod", "team-1"]},
    {"tags__has_all_tags": ["team-2", "env-prod"]},
    {"tags__has_all_tags": ["catalog", "env-staging", "team-3"]},
    {"tags__has_any_tags": ["team-2", "catalog"], "paused": False},
    {"tags__has_all_tags": ["catalog"], "tags__has_any_tags": ["team-1", "team-2"]},
]


def plain_page(matching, order, offset, limit) -> list:
    return list(matching.order_by(*order)[offset : offset + limit].values_list("id", flat=True))


def assert_pages_are_the_plain_query_s(matching, order) -> None:
    for offset, limit in [(0, 5), (3, 4), (0, 100), (17, 5), (60, 5)]:
        assert page_ids(matching, order, offset, limit) == plain_page(
            matching, order, offset, limit
        )


@pytest.mark.parametrize("order", ORDERS, ids=lambda order: ",".join(order))
@pytest.mark.parametrize("conditions", TAG_FILTERS, ids=str)
def test_a_tag_filter_s_pages_are_the_plain_query_s(tagged_catalog, conditions, order):
    matching = Deployment.objects.filter(**conditions)
    assert tag_condition(matching) is not None
    assert matching.exists()
    assert_pages_are_the_plain_query_s(matching, order)


def test_a_tag_filter_beside_a_filter_of_several_queues_gives_the_plain_pages(tagged_catalog):
    matching = Deployment.objects.filter(
        tags__has_any_tags=["team-1", "team-2"], work_queue_id__any=[q.pk for q in tagged_catalog]
    )
    for order in ORDERS:
        assert page_ids(matching, order, 2, 6) == plain_page(matching, order, 2, 6)


def test_a_filter_of_none_of_some_tags_is_read_the_plain_way(tagged_catalog):
    matching = Deployment.objects.filter(tags__has_none_of_tags=["team-1", "catalog"])
    assert tag_condition(matching) is None
    assert matching.exists()
    assert_pages_are_the_plain_query_s(matching, ["name", "id"])
    assert count_of(matching) == matching.count()


def test_a_tag_filter_inside_an_or_is_read_the_plain_way(tagged_catalog):
    from django.db.models import Q

    matching = Deployment.objects.filter(Q(tags__has_any_tags=["team-1"]) | Q(paused=True))
    assert tag_condition(matching) is None
    assert page_ids(matching, ["name", "id"], 0, 10) == plain_page(matching, ["name", "id"], 0, 10)


def test_a_page_of_one_tag_is_read_from_the_tag_rows_in_one_query(
    tagged_catalog, django_assert_num_queries
):
    matching = Deployment.objects.filter(tags__has_any_tags=["team-1"])
    with django_assert_num_queries(1) as captured:
        page_ids(matching, ["name", "id"], 0, 5)
    assert "catalog_deploymenttag" in captured.captured_queries[0]["sql"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_all_tags_walk_the_tag_postgres_counts_rarest(tagged_catalog):
    DeploymentFactory.create_batch(3, tags=["rare", "catalog"])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_deploymenttag")

    def rarest(tags: list[str]) -> str:
        chosen = rarest_tag("default", tags)
        sql, params = chosen.as_sql(None, connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    assert rarest(["catalog", "rare"]) == "rare"
    assert rarest(["catalog", "never-seen"]) == "never-seen"
    assert rarest(["catalog", "env-prod"]) == "env-prod"
    assert rarest(["env-prod", "catalog"]) == "env-prod"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgres_reads_a_tag_page_from_the_tag_index(tagged_catalog):
    matching = Deployment.objects.filter(tags__has_any_tags=["team-1"])
    query = (
        matching.filter(tag_rows__tag="team-1")
        .order_by("tag_rows__name", "tag_rows__deployment_id")
        .values_list("id", flat=True)[:5]
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "catalog_tag_name" in plan
    assert "Sort" not in plan


@pytest.mark.parametrize("conditions", TAG_FILTERS, ids=str)
def test_the_admin_s_pages_of_a_tag_filter_are_the_plain_query_s(tagged_catalog, conditions):
    matching = Deployment.objects.filter(**conditions).order_by("name", "id")
    pages = EstimatedCountPaginator(matching, 7)
    for number in pages.page_range:
        shown = [row.pk for row in pages.page(number).object_list]
        assert shown == [row.pk for row in matching[(number - 1) * 7 : number * 7]]


def test_the_admin_s_tag_filter_lists_the_tagged_deployments_in_name_order(
    admin_client, tagged_catalog
):
    response = admin_client.get("/admin/catalog/deployment/?tag=team-1&tag=team-3&tag_match=any")
    assert response.status_code == 200
    shown = [row.pk for row in response.context["cl"].result_list]
    matching = Deployment.objects.filter(tags__has_any_tags=["team-1", "team-3"])
    assert shown == plain_page(matching, ["name", "id"], 0, 50)


@pytest.mark.parametrize("conditions", TAG_FILTERS, ids=str)
def test_a_tag_filter_s_count_is_the_plain_count(tagged_catalog, conditions):
    matching = Deployment.objects.filter(**conditions)
    assert count_of(matching) == matching.count()
    assert count_of(matching, 3) == min(3, matching.count())


def test_a_count_of_tags_alone_reads_the_tag_rows_only(tagged_catalog, django_assert_num_queries):
    matching = Deployment.objects.filter(tags__has_any_tags=["team-1", "team-2", "nope"])
    expected = matching.count()
    with django_assert_num_queries(1) as captured:
        assert count_of(matching) == expected
    assert 'catalog_deployment"' not in captured.captured_queries[0]["sql"]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgres_counts_several_tags_by_adding_their_branches_with_no_repeat_to_drop(
    tagged_catalog,
):
    matching = Deployment.objects.filter(tags__has_any_tags=["catalog", "team-1", "team-3"])
    with CaptureQueriesContext(connection) as captured:
        assert count_of(matching) == matching.count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_deploymenttag")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {captured.captured_queries[0]['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert plan.count("Scan using catalog_tag_") == 3
    assert "Unique" not in plan and "Aggregate" in plan and "Hash" not in plan
    assert "Sort" not in plan and "catalog_deployment " not in plan


def test_a_flow_s_tags_are_not_counted_from_deployment_tag_rows():
    from catalog.models import Flow

    FlowFactory(tags=["team-1"])
    DeploymentFactory(tags=["team-1"])
    matching = Flow.objects.filter(tags__has_any_tags=["team-1"])
    assert tag_condition(matching) is None
    assert count_of(matching) == 1


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("order", INDEX_ORDERS, ids=lambda order: ",".join(order))
@pytest.mark.parametrize("rest", [{}, {"paused": False}], ids=["alone", "beside paused"])
def test_postgres_merges_the_branches_of_several_tags_in_order_with_no_repeat_to_drop(
    tagged_catalog, order, rest
):
    """The ordered branches are merged as they are read, not gathered and sorted (as a
    UNION would). A deployment with two of the tags is left out of the second tag's
    branch by the list its index entry carries, so the merge drops nothing."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_deploymenttag")
    tags = ["catalog", "team-1", "team-3"]
    matching = Deployment.objects.filter(tags__has_any_tags=tags, **rest)
    page = branched_reader(matching, order)(10, 5)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # a few rows: a sort would cost less
        cursor.execute(f"EXPLAIN {page.sql}", page.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Merge Append" in plan and re.search(TAG_INDEX_WALK, plan)
    assert "Unique" not in plan and "Sort  " not in plan and "Hash" not in plan
    left_out = [line for line in plan.splitlines() if "?|" in line]
    assert len(left_out) == 2
    assert "NOT" in left_out[0] and "'{catalog}'" in left_out[0]
    assert "NOT" in left_out[1] and "'{catalog,team-1}'" in left_out[1]
    assert_pages_are_the_plain_query_s(matching, order)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("order", INDEX_ORDERS, ids=lambda order: ",".join(order))
def test_postgres_decides_all_tags_from_the_tag_index_without_a_probe_a_row(tagged_catalog, order):
    """`all_` walks its rarest tag's index entries and tests the list they carry (an
    index-only scan once the table is vacuumed), with no lookup of the other tags' rows
    for each entry."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_deploymenttag")
    matching = Deployment.objects.filter(tags__has_all_tags=["team-2", "env-prod"])
    page = branched_reader(matching, order)(3, 5)
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_sort = off")  # a few rows: a sort would cost less
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    walk = plan[plan.rindex("\n  ->  ") :]  # after the rarest tag's InitPlan
    assert re.search(TAG_INDEX_WALK, walk) and "?&" in walk
    assert "Sort" not in walk and "SubPlan" not in plan
