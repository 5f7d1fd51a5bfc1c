"""Prefect's filter grammar and the query-string listing, one behaviour per test."""

import json
import uuid

import pytest
from django.db import connection

from catalog.api.filters import DeploymentFilter, DeploymentSort, DeploymentsQuery, FlowFilter
from catalog.models import Deployment
from catalog.models.pages import page_ids, page_query
from catalog.rendering.jsontext import dumps
from tests.conftest import page_queries
from tests.factories import (
    DeploymentFactory,
    DeploymentScheduleFactory,
    FlowFactory,
    WorkQueueFactory,
)

pytestmark = pytest.mark.django_db


def names(queryset) -> list[str]:
    return sorted(queryset.values_list("name", flat=True))


def matching(**filters) -> list[str]:
    query = DeploymentsQuery.model_validate(filters)
    return names(query.apply(Deployment.objects.all()))


@pytest.fixture
def tagged():
    DeploymentFactory(name="a", tags=["etl", "nightly"])
    DeploymentFactory(name="b", tags=["etl"])
    DeploymentFactory(name="c", tags=[])
    DeploymentFactory(name="d", tags=["nightly", "ml", "etl"])


def test_tags_all_needs_every_tag(tagged):
    assert matching(deployments={"tags": {"all_": ["etl", "nightly"]}}) == ["a", "d"]


def test_tags_any_needs_one_tag(tagged):
    assert matching(deployments={"tags": {"any_": ["ml", "nightly"]}}) == ["a", "d"]


def test_tags_any_of_nothing_matches_nothing(tagged):
    assert matching(deployments={"tags": {"any_": []}}) == []


def test_tags_all_of_nothing_matches_everything(tagged):
    assert matching(deployments={"tags": {"all_": []}}) == ["a", "b", "c", "d"]


def test_tags_is_null_means_no_tags(tagged):
    assert matching(deployments={"tags": {"is_null_": True}}) == ["c"]
    assert matching(deployments={"tags": {"is_null_": False}}) == ["a", "b", "d"]


def test_tag_filters_treat_wildcards_and_quotes_literally():
    DeploymentFactory(name="odd", tags=["50%", "it's", 'say "hi"'])
    DeploymentFactory(name="plain", tags=["5000"])
    assert matching(deployments={"tags": {"all_": ["50%", "it's", 'say "hi"']}}) == ["odd"]
    assert matching(deployments={"tags": {"any_": ["5%"]}}) == []


@pytest.mark.parametrize(
    "wanted",
    [["etl"], ["nightly"], ["etl", "ml"], ["missing"], ["etl", "etl"], ["ml", "nightly", "etl"]],
)
def test_tag_lookups_equal_python_membership(tagged, wanted):
    rows = list(Deployment.objects.values_list("name", "tags"))
    expected_all = sorted(name for name, tags in rows if set(wanted) <= set(tags))
    expected_any = sorted(name for name, tags in rows if set(wanted) & set(tags))
    assert names(Deployment.objects.filter(tags__has_all_tags=wanted)) == expected_all
    assert names(Deployment.objects.filter(tags__has_any_tags=wanted)) == expected_any


def test_postgresql_serves_tag_filters_from_a_gin_index():
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE '%tags_gin%'")
            assert cursor.fetchall() == []
            return
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'catalog_deployment_tags_gin'"
        )
        assert "USING gin (tags)" in cursor.fetchone()[0]


def test_name_like_is_case_insensitive_and_keeps_wildcards():
    DeploymentFactory(name="Nightly-ETL")
    DeploymentFactory(name="ups")
    assert matching(deployments={"name": {"like_": "etl"}}) == ["Nightly-ETL"]
    assert matching(deployments={"name": {"like_": "u_s"}}) == ["ups"]


def test_an_empty_like_is_ignored():
    DeploymentFactory(name="x")
    assert matching(deployments={"name": {"like_": ""}}) == ["x"]


def test_flow_or_deployment_name_matches_either():
    DeploymentFactory(name="loader", flow=FlowFactory(name="warehouse"))
    DeploymentFactory(name="warehouse-check")
    DeploymentFactory(name="other")
    assert matching(deployments={"flow_or_deployment_name": {"like_": "WARE"}}) == [
        "loader",
        "warehouse-check",
    ]


def test_or_joins_the_criteria_of_one_filter(tagged):
    body = {"operator": "or_", "name": {"any_": ["c"]}, "tags": {"all_": ["ml"]}}
    assert matching(deployments=body) == ["c", "d"]


def test_an_or_with_a_criterion_that_matches_everything_matches_everything(tagged):
    body = {"operator": "or_", "name": {"like_": ""}, "tags": {"all_": ["ml"]}}
    assert matching(deployments=body) == ["a", "b", "c", "d"]


def test_id_any_and_not_any():
    first, second = DeploymentFactory(name="first"), DeploymentFactory(name="second")
    assert matching(deployments={"id": {"any_": [str(first.id)]}}) == ["first"]
    assert matching(deployments={"id": {"not_any_": [str(first.id)]}}) == ["second"]
    assert matching(deployments={"id": {"any_": []}}) == []
    assert len(matching(deployments={"id": {"not_any_": []}})) == 2 and second


def test_paused_and_work_queue_name():
    DeploymentFactory(name="stopped", paused=True)
    DeploymentFactory(name="queued", work_queue=WorkQueueFactory(name="gpu"))
    assert matching(deployments={"paused": {"eq_": True}}) == ["stopped"]
    assert matching(deployments={"work_queue_name": {"any_": ["gpu"]}}) == ["queued"]


def test_flows_work_pools_and_queues_filter_through_their_relations():
    queue = WorkQueueFactory(name="fast", work_pool__name="k8s")
    DeploymentFactory(name="in-pool", work_queue=queue, flow=FlowFactory(name="etl"))
    DeploymentFactory(name="nowhere")
    assert matching(flows={"name": {"any_": ["etl"]}}) == ["in-pool"]
    assert matching(work_pools={"name": {"any_": ["k8s"]}}) == ["in-pool"]
    assert matching(work_pool_queues={"name": {"startswith_": ["FA"]}}) == ["in-pool"]
    assert matching(work_pools={}) == ["in-pool"]


def test_run_filters_match_nothing_because_the_catalog_keeps_no_runs():
    DeploymentFactory()
    assert matching(flow_runs={"id": {"any_": []}}) == []
    assert matching(flow_runs=None) != []


def test_a_flow_filter_finds_flows_without_deployments():
    FlowFactory(name="idle")
    DeploymentFactory(flow=FlowFactory(name="busy"))
    from catalog.models import Flow

    lonely = FlowFilter.model_validate({"deployment": {"is_null_": True}})
    assert names(Flow.objects.filter(lonely.as_q())) == ["idle"]


def test_unknown_keys_inside_a_filter_are_refused():
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        DeploymentFilter.model_validate({"bogus": 1})


# Constant query counts -----------------------------------------------------------------


@pytest.fixture
def two_hundred_deployments():
    flow = FlowFactory()
    deployments = DeploymentFactory.create_batch(200, flow=flow, tags=["bulk"])
    for deployment in deployments:
        DeploymentScheduleFactory.create_batch(3, deployment=deployment)


def filter_200(api_client):
    body = json.dumps({"deployments": {"tags": {"all_": ["bulk"]}}, "limit": 200})
    return api_client.post("/api/deployments/filter", body, content_type="application/json")


def test_filtering_200_deployments_takes_the_page_cold_and_four_queries_more_once_kept(
    api_client, two_hundred_deployments, django_assert_num_queries
):
    # The page (its ids and kept bodies); then, for those not kept, versions,
    # deployments, schedules and one batch keeping the new bodies.
    with django_assert_num_queries(page_queries() + 4):
        cold = filter_200(api_client)
    with django_assert_num_queries(page_queries()):
        warm = filter_200(api_client)
    assert len(cold.json()) == 200
    assert all(len(item["schedules"]) == 3 for item in cold.json())
    assert warm.content == cold.content


def test_paginating_200_deployments_takes_the_count_and_the_page_once_kept(
    api_client, two_hundred_deployments, django_assert_num_queries
):
    def paginate():
        body = json.dumps({"page": 1, "limit": 200})
        return api_client.post("/api/deployments/paginate", body, content_type="application/json")

    with django_assert_num_queries(1 + page_queries() + 4):
        cold = paginate()
    with django_assert_num_queries(1 + page_queries()):
        warm = paginate()
    assert cold.json()["count"] == 200
    assert len(cold.json()["results"]) == 200
    assert list(cold.json()) == ["results", "count", "limit", "pages", "page"]
    assert warm.content == cold.content


def test_the_query_count_does_not_grow_with_the_page(api_client, django_assert_num_queries):
    DeploymentScheduleFactory.create_batch(2)
    with django_assert_num_queries(page_queries() + 4):
        api_client.post("/api/deployments/filter", "{}", content_type="application/json")
    with django_assert_num_queries(page_queries()):
        api_client.post("/api/deployments/filter", "{}", content_type="application/json")


# The query-string listing (`GET /api/deployments/`) ------------------------------------


@pytest.fixture
def listed():
    queue = WorkQueueFactory(name="gpu", work_pool__name="k8s")
    etl = FlowFactory(name="etl")
    DeploymentFactory(name="alpha", flow=etl, tags=["a", "b"], paused=True)
    DeploymentFactory(name="beta", flow=etl, tags=["b"], work_queue=queue, status="READY")
    cron = DeploymentFactory(name="gamma", tags=["c"])
    from catalog.rules import schedules

    DeploymentScheduleFactory(deployment=cron, schedule=schedules.CronSchedule("* * * * *"))
    return etl


def listing(api_client, query: str) -> list[str]:
    response = api_client.get(f"/api/deployments/?{query}")
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["alpha", "beta", "gamma"]),
        ("flow_name=etl", ["alpha", "beta"]),
        ("name=beta", ["beta"]),
        ("name_contains=AMM", ["gamma"]),
        ("tag=b", ["alpha", "beta"]),
        ("tag=a&tag=b", ["alpha"]),
        ("tag=a&tag=c&tag_match=any", ["alpha", "gamma"]),
        ("paused=true", ["alpha"]),
        ("status=READY", ["beta"]),
        ("work_pool=k8s", ["beta"]),
        ("work_queue=gpu", ["beta"]),
        ("schedule_kind=cron", ["gamma"]),
        ("ordering=-name", ["gamma", "beta", "alpha"]),
        ("limit=1&offset=1", ["beta"]),
        ("updated_after=2000-01-01T00:00:00Z", ["alpha", "beta", "gamma"]),
        ("updated_before=2000-01-01T00:00:00Z", []),
    ],
)
def test_the_listing_filters_by_each_parameter(api_client, listed, query, expected):
    assert listing(api_client, query) == expected


def test_the_listing_filters_by_flow_id(api_client, listed):
    assert listing(api_client, f"flow={listed.id}") == ["alpha", "beta"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("status=RUNNING", "status"),
        ("paused=maybe", "paused"),
        ("flow=x", "flow"),
        ("schedule_kind=weekly", "schedule_kind"),
        ("updated_after=yesterday", "updated_after"),
        ("tag=a%00b", "tag"),
        ("tag=ok&tag=%00", "tag"),
        ("flow_name=a%00", "flow_name"),
    ],
)
def test_a_bad_value_is_400_naming_the_parameter(api_client, query, parameter):
    response = api_client.get(f"/api/deployments/?{query}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{parameter}: ")


def test_the_listing_pages_in_constant_queries(api_client, listed, django_assert_num_queries):
    # A cold page renders its deployments in bulk (versions, deployments, schedules,
    # queues, limits) and keeps their bodies; then it is the count and the page.
    with django_assert_num_queries(1 + page_queries() + 5):
        api_client.get("/api/deployments/?limit=2")
    with django_assert_num_queries(1 + page_queries()):
        api_client.get("/api/deployments/?limit=2")


@pytest.mark.parametrize("query", ["limit=2", "limit=1&offset=1", "limit=2&offset=2", "tag=zzz"])
def test_the_listing_is_drf_s_envelope_around_the_kept_bodies_byte_for_byte(
    api_client, listed, query
):
    """The kept bodies go in the envelope as they are kept: the bytes are those DRF's
    pagination and renderer write of the parsed bodies, keys in their order."""
    response = api_client.get(f"/api/deployments/?{query}")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    page = json.loads(response.content)
    assert list(page) == ["count", "next", "previous", "results"]
    assert response.content == dumps(page)
    for item in page["results"]:
        detail = api_client.get(f"/api/deployments/{item['id']}")
        assert json.dumps(item).encode() == json.dumps(detail.json()).encode()


@pytest.fixture
def ties():
    """Twelve deployments of one name (in four flows) and one moment: every order ties."""
    flows = [FlowFactory(name=f"tie-flow-{n}") for n in range(4)]
    queue = WorkQueueFactory(name="tie-queue")
    made = [
        DeploymentFactory(name=f"tie-{n % 3}", flow=flows[n % 4], work_queue=queue)
        for n in range(12)
    ]
    Deployment.objects.update(created="2026-01-01T00:00:00Z", updated="2026-01-01T00:00:00Z")
    return made


def by_id(ids, descending: bool) -> list[str]:
    return sorted(ids, key=lambda id: uuid.UUID(id), reverse=descending)


@pytest.mark.parametrize(
    ("ordering", "names_descending", "ids_descending"),
    [
        ("name", False, False),
        ("-name", True, True),
        ("created", None, True),
        ("-created", None, False),
        ("updated", None, True),
        ("-updated", None, False),
    ],
)
def test_the_listing_s_pages_break_ties_by_id_and_neither_repeat_nor_skip(
    api_client, ties, ordering, names_descending, ids_descending
):
    """`?ordering=` names one column; deployments that tie on it come in id order
    (descending where the index on (column, id) is walked that way), so that pages at
    successive offsets cover every deployment once."""
    pages = []
    for offset in range(0, 12, 5):
        response = api_client.get(f"/api/deployments/?ordering={ordering}&limit=5&offset={offset}")
        assert response.status_code == 200
        pages += [(item["name"], item["id"]) for item in response.json()["results"]]
    assert sorted(id for _, id in pages) == sorted(str(made.id) for made in ties)
    if names_descending is None:  # one moment: the id alone orders
        assert [id for _, id in pages] == by_id([id for _, id in pages], ids_descending)
        return
    names = sorted({name for name, _ in pages}, reverse=names_descending)
    expected = [
        id for name in names for id in by_id([i for n, i in pages if n == name], ids_descending)
    ]
    assert [id for _, id in pages] == expected


@pytest.mark.parametrize("sort", ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"])
def test_a_filter_sort_breaks_ties_by_id_page_after_page(api_client, ties, sort):
    """Prefect's sorts name one column. NAME_DESC takes the ids descending, the exact
    reverse of NAME_ASC; the newest and last changed first take them ascending."""
    pages = []
    for offset in range(0, 12, 5):
        body = {"sort": sort, "offset": offset, "limit": 5}
        response = api_client.post("/api/deployments/filter", body, format="json")
        assert response.status_code == 200
        pages += [(item["name"], item["id"]) for item in response.json()]
    assert len(set(pages)) == 12
    if sort == "NAME_ASC":
        assert pages == sorted(pages, key=lambda page: (page[0], uuid.UUID(page[1])))
    elif sort == "NAME_DESC":
        ascending = api_client.post(
            "/api/deployments/filter", {"sort": "NAME_ASC"}, format="json"
        ).json()
        assert pages == [(item["name"], item["id"]) for item in reversed(ascending)]
    else:
        assert [id for _, id in pages] == by_id([id for _, id in pages], descending=False)


def page_plan(matching, order) -> str:
    """The plan of `matching`'s page at offset 5 in `order`, with every way of reading
    the rows but through an index, and sorting them, made to cost the most."""
    sql, params = page_query(matching, order, 5, 5)
    with connection.cursor() as cursor:
        for setting in ("seqscan", "bitmapscan", "sort", "incremental_sort"):
            cursor.execute(f"SET LOCAL enable_{setting} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("sort", ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"])
@pytest.mark.parametrize("condition", ["none", "flow", "work queue", "paused", "tag", "name"])
def test_postgres_reads_each_sort_s_page_in_order_from_an_index_with_no_sort(ties, sort, condition):
    """Each sort with its tie-break is an order an index holds, walked forward or
    backward: a deep page walks it up to the page, with no sort of the matches (NAME_DESC
    took an incremental sort of every match before the page when its ties went by
    ascending id)."""
    if condition in ("paused", "tag"):
        Deployment.objects.filter(pk__in=[made.pk for made in ties[::2]]).update(paused=True)
        for made in ties[::3]:
            made.tags = ["picked"]
            made.save()
    if condition == "name" and not sort.startswith("NAME"):
        return  # the trigram rows keep names, not moments: the plain query serves these
    conditions = {
        "none": {},
        "flow": {"flow_id": ties[0].flow_id},
        "work queue": {"work_queue_id": ties[0].work_queue_id},
        "paused": {"paused": True},
        "tag": {"tags__has_any_tags": ["picked"]},
        "name": {"name__prefect_like": "tie"},
    }[condition]
    order = DeploymentSort(sort).order_by()
    matching = Deployment.objects.filter(**conditions)
    plan = page_plan(matching, order)
    assert "Sort" not in plan and "Index" in plan, plan
    ids = list(matching.order_by(*order).values_list("id", flat=True))
    assert page_ids(matching, order, 5, 5) == ids[5:10]
