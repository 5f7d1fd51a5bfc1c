"""The trigram rows of the deployments' names (issue 17): on PostgreSQL, whoever writes a
deployment (the ORM, a queryset update, the importer, raw SQL), its rows are the
upper-cased trigrams of its name; a page of a substring filter (`like_`, `icontains`)
read from them is the page the plain query gives, in name order either way, at every
offset, with other filters beside it. On SQLite the table stays empty and the plain
query is the way."""

import re

import pytest
from django.db import connection
from django.db.models import Q

from catalog.admin.deployments import text_matches
from catalog.api.filters import DeploymentOrFlowNameFilter
from catalog.importing.run import import_paths
from catalog.models import Deployment, DeploymentNameGram, Flow
from catalog.models.name_grams import literal_pieces, make_every_gram_row
from catalog.models.pages import (
    MergedPage,
    branched_reader,
    count_of,
    gram_condition,
    page_ids,
    page_subquery,
    rarest_gram,
)
from tests.conftest import prefect_file
from tests.factories import DeploymentFactory, FlowFactory

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif("connection.vendor != 'postgresql'")


def kept_rows() -> set[tuple]:
    return set(DeploymentNameGram.objects.values_list("deployment_id", "gram", "name"))


def expected_rows() -> set[tuple]:
    """Each name's trigrams, upper-cased (the names here are ones Python and PostgreSQL
    upper-case alike)."""
    return {
        (row.id, row.name.upper()[start : start + 3], row.name)
        for row in Deployment.objects.all()
        for start in range(len(row.name) - 2)
    }


def assert_rows_follow_the_deployments() -> None:
    assert kept_rows() == expected_rows()


# The rows, kept by triggers on PostgreSQL ------------------------------------------------


@on_postgres
def test_a_new_deployment_has_a_row_for_each_trigram_of_its_name():
    deployment = DeploymentFactory(name="abcab-x")
    grams = DeploymentNameGram.objects.filter(deployment=deployment)
    assert sorted(grams.values_list("gram", flat=True)) == ["AB-", "ABC", "B-X", "BCA", "CAB"]
    assert set(grams.values_list("name", flat=True)) == {"abcab-x"}


@on_postgres
def test_a_name_shorter_than_a_trigram_has_no_rows():
    DeploymentFactory(name="ab")
    assert not DeploymentNameGram.objects.exists()


@on_postgres
def test_a_rename_a_queryset_update_and_raw_sql_are_followed():
    one, other = DeploymentFactory(name="first-one"), DeploymentFactory(name="second")
    one.name = "renamed"
    one.save()
    assert_rows_follow_the_deployments()
    Deployment.objects.filter(pk=other.pk).update(name="Second-Ünïcode")
    assert_rows_follow_the_deployments()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_deployment SET name = %s WHERE id = %s", ["raw", one.pk])
    assert_rows_follow_the_deployments()


@on_postgres
def test_an_update_that_keeps_the_name_leaves_the_rows_alone():
    deployment = DeploymentFactory(name="kept-name")
    before = physical_rows()
    Deployment.objects.filter(pk=deployment.pk).update(description="only the description")
    deployment.save()
    assert physical_rows() == before


def physical_rows() -> list:
    """Where each row is stored: a row written again moves."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT ctid::text, gram FROM catalog_deploymentnamegram ORDER BY gram")
        return cursor.fetchall()


@on_postgres
def test_a_deleted_deployment_and_a_deleted_flow_take_their_rows_with_them():
    kept = DeploymentFactory(name="kept")
    DeploymentFactory(name="gone").delete()
    flow = FlowFactory()
    DeploymentFactory.create_batch(2, flow=flow)
    Flow.objects.filter(pk=flow.pk).delete()
    assert set(DeploymentNameGram.objects.values_list("deployment_id", flat=True)) == {kept.pk}


@on_postgres
def test_the_importer_s_writes_are_followed():
    import_paths([prefect_file("20_get_deployment_full.json")], flow_name="anchor-etl")
    assert DeploymentNameGram.objects.exists()
    assert_rows_follow_the_deployments()


@on_postgres
def test_the_migration_makes_the_rows_of_deployments_stored_before_it():
    DeploymentFactory.create_batch(3)
    DeploymentNameGram.objects.all().delete()
    make_every_gram_row(connection)
    assert_rows_follow_the_deployments()


@pytest.mark.skipif("connection.vendor != 'sqlite'")
def test_sqlite_keeps_no_rows_and_reads_substrings_the_plain_way():
    DeploymentFactory(name="report-x07-1")
    assert not DeploymentNameGram.objects.exists()
    matching = Deployment.objects.filter(name__prefect_like="x07")
    assert gram_condition(matching) is None
    assert page_ids(matching, ["name", "id"], 0, 5) == [matching.get().pk]


# The pattern's literal pieces ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "wildcards", "pieces"),
    [
        ("x07-", True, ["x07-"]),
        ("ab", True, []),
        ("abc%de_fgh", True, ["abc", "fgh"]),
        ("ab\\%cd", True, ["ab%cd"]),
        ("ab\\\\c", True, ["ab\\c"]),
        ("%_%", True, []),
        ("ab%cd", False, ["ab%cd"]),
    ],
)
def test_a_pattern_s_literal_pieces_are_read_as_postgres_reads_like(pattern, wildcards, pieces):
    assert literal_pieces(pattern, wildcards) == pieces


# Pages read from the rows: the plain query's pages ------------------------------------------


@pytest.fixture
def named_catalog():
    """60 deployments whose names hold substrings of every share: "x07-" in a few,
    "s3x" in some, "ingest" in half, with repeats, mixed case, wildcard characters and
    names too short for a trigram (a name may not hold `%`)."""
    flows = [FlowFactory(name="flow-a"), FlowFactory(name="flow-b")]
    extra = [FlowFactory(name=f"s3x-flow-{n}") for n in range(3)]
    for n in range(8):
        DeploymentFactory(name=f"other-{n}", flow=extra[n % 3])
    for n in range(60):
        job = "ingest" if n % 2 == 0 else "REPORT"
        DeploymentFactory(
            name=f"{job}-s{n % 10}x{n % 7:02d}-{n % 25:03d}{'_x' if n % 11 == 0 else ''}",
            flow=flows[n % 2],
            paused=n % 4 == 0,
            description=f"Deployment number {n}, team {n % 5}.",
            tags=[f"team-{n % 5}", *(["s3x-tag"] if n % 9 == 0 else [])],
            entrypoint=f"flows/x0{n % 3}-job.py:run",
        )
    DeploymentFactory(name="x0")
    DeploymentFactory(name="ingestion-Ünïcode")


# The API's two name orders, and `-name` with ties in ascending id (any order pages).
ORDERS = [["name", "id"], ["-name", "-id"], ["-name", "id"]]
SUBSTRING_FILTERS = [
    {"name__prefect_like": "x03-"},
    {"name__prefect_like": "S3X"},
    {"name__prefect_like": "ingest"},
    {"name__prefect_like": "s_x0%-02"},
    {"name__prefect_like": "3\\_x"},
    {"name__prefect_like": "ünï"},
    {"name__icontains": "port-s1"},
    {"name__icontains": "3_x"},
    {"name__prefect_like": "ingest", "paused": False},
    {"name__icontains": "x05", "flow__name": "flow-b"},
    {"name__prefect_like": "nothing-has-this"},
]


def plain_page(matching, order, offset, limit) -> list:
    return list(matching.order_by(*order)[offset : offset + limit].values_list("id", flat=True))


def assert_branched_pages_are_the_plain_query_s(matching, order) -> None:
    assert branched_reader(matching, order) is not None
    for offset, limit in [(0, 5), (3, 4), (0, 100), (17, 5), (70, 5)]:
        assert page_ids(matching, order, offset, limit) == plain_page(
            matching, order, offset, limit
        )


@on_postgres
@pytest.mark.parametrize("order", ORDERS, ids=lambda order: ",".join(order))
@pytest.mark.parametrize("conditions", SUBSTRING_FILTERS, ids=str)
def test_a_substring_filter_s_pages_are_the_plain_query_s(named_catalog, conditions, order):
    matching = Deployment.objects.filter(**conditions)
    assert_branched_pages_are_the_plain_query_s(matching, order)


def name_or_flow_name(pattern: str) -> Q:
    """Prefect's `flow_or_deployment_name.like_`, as the API's filter builds it."""
    return DeploymentOrFlowNameFilter(like_=pattern).conditions()[0]


@on_postgres
@pytest.mark.parametrize("conditions", SUBSTRING_FILTERS, ids=str)
def test_a_substring_filter_s_count_is_the_plain_count(named_catalog, conditions):
    matching = Deployment.objects.filter(**conditions)
    assert count_of(matching) == matching.count()
    assert count_of(matching, 3) == min(3, matching.count())


@on_postgres
def test_a_count_of_a_substring_alone_reads_the_trigram_rows_only(
    named_catalog, django_assert_num_queries
):
    with django_assert_num_queries(1) as captured:
        assert count_of(Deployment.objects.filter(name__prefect_like="s3x")) == 6
    sql = captured.captured_queries[0]["sql"]
    assert "catalog_deploymentnamegram" in sql and '"catalog_deployment"' not in sql


@on_postgres
@pytest.mark.parametrize("order", ORDERS, ids=lambda order: ",".join(order))
@pytest.mark.parametrize("pattern", ["s3x", "ow-", "flow-a", "s3x-flow-1", "nothing-has-this"])
@pytest.mark.parametrize("paused", [None, False])
def test_a_flow_or_deployment_name_filter_s_pages_are_the_plain_query_s(
    named_catalog, pattern, paused, order
):
    matching = Deployment.objects.filter(name_or_flow_name(pattern))
    if paused is not None:
        matching = matching.filter(paused=paused)
    assert_branched_pages_are_the_plain_query_s(matching, order)


# Words of the admin's search: in names, flows' names, tags (and flows and tags at once),
# descriptions, entrypoints; several at once; in nothing.
ADMIN_SEARCHES = [
    ["s3x"],
    ["x01"],
    ["team-3"],
    ["ingest"],
    ["flow-a"],
    ["number", "1"],
    ["x02-job"],
    ["s3x", "team-3"],
    ["ingest", "flow-b"],
    ["nothing-has-this"],
]


def admin_search(words: list[str]):
    matching = Deployment.objects.all()
    for word in words:
        matching = matching.filter(text_matches(word))
    return matching


@on_postgres
@pytest.mark.parametrize("order", ORDERS, ids=lambda order: ",".join(order))
@pytest.mark.parametrize("paused", [None, False])
@pytest.mark.parametrize("words", ADMIN_SEARCHES, ids=str)
def test_the_admin_search_s_pages_are_the_plain_query_s(named_catalog, words, paused, order):
    """The name, the flow's name, the description, the tags or the entrypoint: a branch
    of the trigram rows, one a flow, one a tag and one of the other columns."""
    matching = admin_search(words)
    if paused is not None:
        matching = matching.filter(paused=paused)
    assert_branched_pages_are_the_plain_query_s(matching, order)


@on_postgres
@pytest.mark.parametrize("words", ADMIN_SEARCHES, ids=str)
def test_the_admin_search_s_count_is_the_plain_count(named_catalog, words):
    matching = admin_search(words)
    assert count_of(matching) == matching.count()
    assert count_of(matching, 3) == min(3, matching.count())


@on_postgres
def test_the_admin_search_reads_its_page_from_the_trigram_and_tag_rows(named_catalog):
    """ "s3x" is in names, in three flows' names and in a tag: one branch each."""
    found = gram_condition(admin_search(["s3x"]))
    assert (len(found.flow_ids), found.tags, len(found.others)) == (3, ["s3x-tag"], 2)
    plan = index_plan(admin_search(["s3x"]))
    assert "catalog_deploymentnamegram_pkey" in plan
    assert "catalog_tag_name" in plan


@on_postgres
def test_a_substring_ored_with_other_conditions_reads_them_in_a_branch(named_catalog):
    matching = Deployment.objects.filter(Q(name__prefect_like="x03") | Q(paused=True))
    assert gram_condition(matching).others
    for offset, limit in [(0, 5), (3, 10), (30, 10)]:
        assert page_ids(matching, ORDERS[0], offset, limit) == plain_page(
            matching, ORDERS[0], offset, limit
        )
    assert count_of(matching) == matching.count()


@on_postgres
def test_a_substring_ored_with_a_nested_condition_is_read_the_plain_way(named_catalog):
    matching = Deployment.objects.filter(
        Q(name__prefect_like="x03") | (Q(paused=True) & Q(flow__name="flow-a"))
    )
    assert gram_condition(matching) is None
    assert page_ids(matching, ORDERS[0], 3, 10) == plain_page(matching, ORDERS[0], 3, 10)


@on_postgres
def test_a_name_or_too_many_flows_is_read_the_plain_way(named_catalog):
    for n in range(70):
        FlowFactory(name=f"many-{n}")
        DeploymentFactory(name=f"job-of-many-{n}", flow=Flow.objects.get(name=f"many-{n}"))
    matching = Deployment.objects.filter(name_or_flow_name("many-"))
    assert branched_reader(matching, ORDERS[0]) is None
    assert page_ids(matching, ORDERS[0], 5, 10) == plain_page(matching, ORDERS[0], 5, 10)


@on_postgres
@pytest.mark.parametrize(
    "matching",
    [
        Q(name__prefect_like="x0"),  # no trigram
        Q(name__prefect_like="%x%"),
        Q(name__prefect_startswith="ingest"),
    ],
    ids=str,
)
def test_filters_with_no_trigram_to_walk_are_read_the_plain_way(named_catalog, matching):
    rows = Deployment.objects.filter(matching)
    assert gram_condition(rows) is None
    assert page_ids(rows, ["name", "id"], 0, 10) == plain_page(rows, ["name", "id"], 0, 10)


@on_postgres
def test_orders_the_rows_do_not_hold_are_read_the_plain_way(named_catalog):
    matching = Deployment.objects.filter(name__prefect_like="ingest")
    assert branched_reader(matching, ["-created", "id"]) is None


@on_postgres
def test_a_page_of_a_substring_is_read_from_the_trigram_rows_in_one_query(
    named_catalog, django_assert_num_queries
):
    matching = Deployment.objects.filter(name__prefect_like="s3x")
    with django_assert_num_queries(1) as captured:
        page_ids(matching, ["name", "id"], 0, 5)
    assert "catalog_deploymentnamegram" in captured.captured_queries[0]["sql"]


@on_postgres
def test_the_walk_takes_the_trigram_postgres_counts_rarest(named_catalog):
    DeploymentFactory.create_batch(3, name="zzq-rare")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_deploymentnamegram")

    def rarest(pieces: list[str]) -> str:
        sql, params = rarest_gram(pieces).as_sql(None, connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    assert rarest(["ingest"]) in {"ING", "NGE", "GES", "EST"}
    assert rarest(["estzzq"]) == "STZ"  # the first in no name: rarer than every gram seen
    assert rarest(["ingest", "zzq"]) == "ZZQ"
    assert rarest(["zzq", "ingest"]) == "ZZQ"


def index_plan(matching) -> str:
    """PostgreSQL's plan of a page of `matching` read by branches, were its tables big."""
    page = branched_reader(matching, ["name", "id"])(0, 5)
    sql, params = (
        (page.sql, page.params) if isinstance(page, MergedPage) else page.query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # A table this small is cheaper read whole (or through a bitmap) and sorted.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@on_postgres
def test_postgres_reads_a_substring_page_from_the_trigram_index(named_catalog):
    plan = index_plan(Deployment.objects.filter(name__prefect_like="ingest"))
    assert "catalog_deploymentnamegram_pkey" in plan
    # The only sort is of the pattern's trigrams, choosing the rarest: no match is sorted.
    sorts = [line for line in plan.splitlines() if "Sort Key" in line]
    assert len(sorts) == 1 and "COALESCE" in sorts[0]
    assert "~~ '%INGEST%'" in plan  # each row of the trigram tested against the whole


@on_postgres
@pytest.mark.parametrize(
    ("conditions", "gram"),
    [
        ({"name__prefect_like": "s3X"}, "S3X"),
        ({"name__icontains": "3_x"}, "3_X"),
        ({"name__icontains": "x05", "flow__name": "flow-b"}, "X05"),
    ],
)
def test_a_search_of_one_trigram_walks_its_rows_with_nothing_to_test(
    named_catalog, conditions, gram
):
    """Three ASCII characters are one trigram: its rows are the matches, walked in name
    order with no trigram to choose and no name to test."""
    matching = Deployment.objects.filter(**conditions)
    plan = index_plan(matching)
    assert "catalog_deploymentnamegram_pkey" in plan
    assert f"gram = '{gram}'::text" in plan  # folded: UPPER() of a constant
    assert "~~" not in plan
    if len(conditions) == 1:  # the rows alone, walked in name order, no sort
        assert "Sort" not in plan and not re.search(r"on catalog_deployment\b", plan)
    assert_branched_pages_are_the_plain_query_s(matching, ["name", "id"])
    assert count_of(matching) == matching.count()


@on_postgres
@pytest.mark.parametrize("text", ["s3x0", "ünï", "3\\_x", "s3x%", "%s3x"])
def test_a_search_of_more_or_less_than_one_ascii_trigram_tests_each_row(named_catalog, text):
    matching = Deployment.objects.filter(name__prefect_like=text)
    assert gram_condition(matching) is not None
    assert "~~" in index_plan(matching)


@on_postgres
def test_a_substring_ored_with_a_joined_table_s_column_is_read_the_plain_way(named_catalog):
    matching = Deployment.objects.filter(
        Q(name__prefect_like="x03") | Q(flow__name__icontains="flow-a")
    )
    assert gram_condition(matching) is None
    assert page_ids(matching, ORDERS[0], 3, 10) == plain_page(matching, ORDERS[0], 3, 10)


@on_postgres
def test_an_or_with_branches_no_row_can_meet_gives_the_plain_page(named_catalog):
    """Prefect's `operator: or_` of a name, `paused` and queues that do not exist
    (`work_queue_id IN ()`), and the same with nothing left to match."""
    either = Q(name__prefect_like="s3x") | Q(paused=True) | Q(work_queue_id__in=[])
    for matching in [
        Deployment.objects.filter(either),
        Deployment.objects.filter(Q(name__prefect_like="s3x") | Q(work_queue_id__in=[])),
        Deployment.objects.filter(either).filter(id__in=[]),
        Deployment.objects.filter(name_or_flow_name("flow-a")).filter(id__in=[]),
    ]:
        assert gram_condition(matching) is not None
        for offset, limit in [(0, 5), (3, 10)]:
            assert page_ids(matching, ORDERS[0], offset, limit) == plain_page(
                matching, ORDERS[0], offset, limit
            )
        assert count_of(matching) == matching.count()
        ids = page_subquery(matching, ORDERS[0], 0, 5)
        page = set(matching.filter(pk__in=ids).values_list("id", flat=True))
        assert page == set(plain_page(matching, ORDERS[0], 0, 5))
