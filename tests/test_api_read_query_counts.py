"""Every read path of the API sends as many queries with a few deployments as with many
more, on each page, for each filter of Prefect's grammar and of the REST listing.

Each test reads with 60 deployments, then adds a few hundred and reads again (the first
page and a later one, small pages so that both sizes fill them): the query count stays,
and the first page's matches the figure named here.
Bodies are kept (warm) before each read, as they are after an import; the cold first read
renders in a constant number of queries too (`tests/test_filters.py`).
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Deployment, DeploymentStatus
from catalog.rendering import json_cache
from catalog.rules import schedules
from tests.conftest import page_queries
from tests.factories import DeploymentScheduleFactory, FlowFactory, WorkQueueFactory

pytestmark = pytest.mark.django_db

FEW = 60
MANY = 420
PAGE = 2
LATER_OFFSET = 4


class Catalog:
    """Flows, pools and queues, and deployments spread over them so that every filter
    below matches some of them at both sizes."""

    def __init__(self) -> None:
        self.flows = [FlowFactory(name=name) for name in ("nightly-etl", "hourly-sync", "audit")]
        self.queues = [
            WorkQueueFactory(name="default", work_pool__name="k8s"),
            WorkQueueFactory(name="urgent", work_pool__name="ecs"),
        ]
        self.queues.append(WorkQueueFactory(name="default", work_pool=self.queues[1].work_pool))
        self.count = 0

    def grow_to(self, total: int) -> None:
        """Deployments `self.count` to `total`, in one bulk insert (the triggers keep
        their JSON rows), a cron schedule on every tenth."""
        numbers = range(self.count, total)
        Deployment.objects.bulk_create(self.deployment(n) for n in numbers)
        for deployment in Deployment.objects.filter(name__in=[name_of(n) for n in numbers]):
            if int(deployment.name[-5:]) % 10 == 0:
                DeploymentScheduleFactory(
                    deployment=deployment, schedule=schedules.CronSchedule("0 * * * *")
                )
        self.count = total
        for _ in json_cache.warm_bodies():
            pass

    def deployment(self, n: int) -> Deployment:
        return Deployment(
            name=name_of(n),
            flow=self.flows[n % 3],
            work_queue=self.queues[n % 3],
            tags=["env-prod" if n % 2 == 0 else "env-staging", f"team-{n % 5}", "catalog"],
            labels={"team": f"team-{n % 5}"},
            paused=n % 7 == 0,
            status=DeploymentStatus.READY if n % 4 == 0 else DeploymentStatus.NOT_READY,
        )


def name_of(n: int) -> str:
    return f"{'ingest' if n % 2 == 0 else 'report'}-s{n % 10}x-{n:05d}"


@pytest.fixture
def catalog(db) -> Catalog:
    return Catalog()


def counted(catalog: Catalog, *reads) -> list[list[int]]:
    """For each read, the queries it takes with FEW deployments, then with MANY."""
    counts: list[list[int]] = [[] for _ in reads]
    for total in (FEW, MANY):
        catalog.grow_to(total)
        for read, its_counts in zip(reads, counts, strict=True):
            with CaptureQueriesContext(connection) as queries:
                response = read()
            assert response.status_code == 200, response.content
            its_counts.append(len(queries))
    return counts


# (label, the filter part of a body); each matches some deployments at both sizes.
FILTERS = [
    ("no filter", {}),
    ("tags any_", {"deployments": {"tags": {"any_": ["team-3", "nope"]}}}),
    ("tags all_", {"deployments": {"tags": {"all_": ["team-2", "env-prod"]}}}),
    ("tags is_null_", {"deployments": {"tags": {"is_null_": False}}}),
    ("name any_", {"deployments": {"name": {"any_": [name_of(1), name_of(300)]}}}),
    ("name like_", {"deployments": {"name": {"like_": "S3X"}}}),
    ("flow or name like_", {"deployments": {"flow_or_deployment_name": {"like_": "sync"}}}),
    ("paused", {"deployments": {"paused": {"eq_": True}}}),
    ("work queue name", {"deployments": {"work_queue_name": {"any_": ["urgent"]}}}),
    ("work queue names", {"deployments": {"work_queue_name": {"any_": ["urgent", "default"]}}}),
    ("work pool name", {"work_pools": {"name": {"any_": ["k8s"]}}}),
    ("work pool of two queues", {"work_pools": {"name": {"any_": ["ecs"]}}}),
    ("work pool queue", {"work_pool_queues": {"name": {"any_": ["urgent"]}}}),
    ("flow name any_", {"flows": {"name": {"any_": ["audit"]}}}),
    ("flow names any_", {"flows": {"name": {"any_": ["audit", "hourly-sync"]}}}),
    ("flow name like_", {"flows": {"name": {"like_": "nightly"}}}),
    ("flow empty", {"flows": {}}),
    (
        "or_ of two",
        {"deployments": {"operator": "or_", "paused": {"eq_": True}, "name": {"like_": "s1x"}}},
    ),
    (
        "deployment, flow and pool",
        {
            "deployments": {"tags": {"all_": ["catalog"]}},
            "flows": {"name": {"any_": ["hourly-sync"]}},
            "work_pools": {"name": {"any_": ["ecs"]}},
        },
    ),
]
SORTS = ["NAME_ASC", "NAME_DESC", "CREATED_DESC", "UPDATED_DESC"]
# Queries beyond a warm page's (see `page_queries`): the lookup of the flows, the queues
# (or a pool's queues) the filter names.
LOOKUPS = {
    "flow or name like_": 1,
    "work queue name": 1,
    "work queue names": 1,
    "work pool name": 1,
    "work pool of two queues": 1,
    "work pool queue": 1,
    "flow name any_": 1,
    "flow names any_": 1,
    "flow name like_": 1,
    "deployment, flow and pool": 2,
}


# An empty page (a later page at the smaller size) reads its ids alone, on either database.
EMPTY_PAGE_QUERIES = 1


def post(api_client, path: str, body: dict):
    return api_client.post(path, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize(("label", "body"), FILTERS, ids=[label for label, _ in FILTERS])
def test_filter_takes_the_same_queries_at_every_size_and_page(
    api_client, catalog, label, body, sort
):
    first, later = counted(
        catalog,
        *[
            lambda offset=offset: post(
                api_client,
                "/api/deployments/filter",
                {**body, "sort": sort, "offset": offset, "limit": PAGE},
            )
            for offset in (0, LATER_OFFSET)
        ],
    )
    expected = page_queries() + LOOKUPS.get(label, 0)
    assert first == [expected, expected]
    empty = expected - page_queries() + EMPTY_PAGE_QUERIES
    assert later in ([expected, expected], [empty, empty])


@pytest.mark.parametrize(("label", "body"), FILTERS, ids=[label for label, _ in FILTERS])
def test_count_and_paginate_take_the_same_queries_at_every_size_and_page(
    api_client, catalog, label, body
):
    lookups = LOOKUPS.get(label, 0)

    def count():
        return post(api_client, "/api/deployments/count", body)

    def paginate(page: int):
        return post(api_client, "/api/deployments/paginate", {**body, "page": page, "limit": PAGE})

    counts = counted(
        catalog, count, lambda: paginate(1), lambda: paginate(LATER_OFFSET // PAGE + 1)
    )
    assert counts[0] == [1 + lookups] * 2
    # The count, then the page.
    page = 1 + page_queries() + lookups
    assert counts[1] == [page] * 2
    empty = page - page_queries() + EMPTY_PAGE_QUERIES
    assert counts[2] in ([page] * 2, [empty] * 2)


LISTING = [
    ("", 0),
    ("tag=team-3", 0),
    ("tag=team-2&tag=env-prod", 0),
    ("tag=team-2&tag=team-3&tag_match=any", 0),
    ("name=" + name_of(5), 0),
    ("name_contains=s3x", 0),
    ("paused=true", 0),
    ("status=READY", 0),
    ("work_pool=k8s", 1),
    ("work_pool=ecs", 1),
    ("work_queue=urgent", 1),
    ("work_queue=default", 1),
    ("flow_name=audit", 1),
    ("schedule_kind=cron", 0),
    ("updated_after=2000-01-01T00:00:00Z", 0),
    ("ordering=-updated", 0),
    ("ordering=created", 0),
    ("ordering=-name&work_queue=urgent", 1),
]


@pytest.mark.parametrize(("query", "lookups"), LISTING, ids=[query for query, _ in LISTING])
def test_the_rest_listing_takes_the_same_queries_at_every_size_and_page(
    api_client, catalog, query, lookups
):
    first, later = counted(
        catalog,
        *[
            lambda offset=offset: api_client.get(
                f"/api/deployments/?limit={PAGE}&offset={offset}&{query}"
            )
            for offset in (0, LATER_OFFSET)
        ],
    )
    # The count, then the page (DRF reads no page past the count).
    page = 1 + page_queries() + lookups
    assert first == [page] * 2
    assert later in ([page] * 2, [1 + lookups] * 2)


def test_get_by_id_and_by_name_take_one_and_two_queries_at_every_size(api_client, catalog):
    def by_id():
        deployment = Deployment.objects.get(name=name_of(7))
        return api_client.get(f"/api/deployments/{deployment.id}")

    def by_name():
        return api_client.get(f"/api/deployments/name/{catalog.flows[7 % 3].name}/{name_of(7)}")

    # Counted with the lookup of the id above, a query of its own; by name, the id by the
    # flow's name and the deployment's, then the kept body.
    assert counted(catalog, by_id, by_name) == [[2, 2], [2, 2]]


# The same rows in the same order, whichever way a page is read -------------------------

SPREAD = [
    {"deployments": {"work_queue_name": {"any_": ["default"]}}},
    {"work_pools": {"name": {"any_": ["ecs"]}}, "deployments": {"tags": {"any_": ["team-1"]}}},
    {"flows": {"name": {"any_": ["audit", "hourly-sync"]}}},
    {
        "flows": {"name": {"any_": ["audit", "nightly-etl"]}},
        "deployments": {
            "work_queue_name": {"any_": ["urgent", "default"]},
            "paused": {"eq_": False},
        },
    },
]


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("body", SPREAD)
def test_a_filter_naming_several_queues_or_flows_pages_as_the_plain_query_does(
    api_client, catalog, body, sort
):
    from catalog.api.filters import DeploymentSort, DeploymentsQuery

    catalog.grow_to(90)
    # Names that tie (each of another flow), so that the id decides between them.
    for n in (10, 11, 12, 20, 21, 22):
        Deployment.objects.filter(name=name_of(n)).update(name=f"tie-{n // 10}")
    order = DeploymentSort(sort).order_by()
    plain = DeploymentsQuery.model_validate(body).apply(Deployment.objects.all()).order_by(*order)
    expected = [str(id) for id in plain.values_list("id", flat=True)]
    assert len(expected) > 6
    for offset, limit in ((0, 200), (0, 5), (5, 5), (len(expected) - 2, 5)):
        page = {**body, "sort": sort, "offset": offset, "limit": limit}
        response = post(api_client, "/api/deployments/filter", page)
        assert [item["id"] for item in response.json()] == expected[offset : offset + limit]


@pytest.mark.parametrize(
    "query", ["work_queue=default", "work_pool=ecs", "work_queue=default&tag=team-1"]
)
def test_the_rest_listing_of_several_queues_pages_as_the_plain_query_does(
    api_client, catalog, query
):
    from django.http import QueryDict

    from catalog.api.listing_filters import DeploymentFilterSet

    catalog.grow_to(90)
    filtered = DeploymentFilterSet(
        QueryDict(query),
        Deployment.objects.order_by("name", "id"),
    ).qs
    expected = [str(id) for id in filtered.values_list("id", flat=True)]
    assert len(expected) > 6
    for offset, limit in ((0, 200), (0, 5), (5, 5), (len(expected) - 2, 5)):
        response = api_client.get(f"/api/deployments/?{query}&offset={offset}&limit={limit}")
        page = response.json()
        assert page["count"] == len(expected)
        assert [item["id"] for item in page["results"]] == expected[offset : offset + limit]
