"""Work pools and their queues: `/api/work_pools/…`."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.errors import ApiError
from catalog.api.openapi import (
    CONFLICT,
    INVALID_BODY,
    NO_CONTENT,
    WORK_POOL_NAME,
    WORK_POOL_NAME_IN_QUEUE_ROUTES,
    error,
    json_body,
    list_of,
    ok,
    path_parameter,
    returns,
)
from catalog.api.views.base import (
    FilterRouteView,
    PrefectAPIView,
    no_content,
    storable,
    write_context,
)
from catalog.api.work_pool_requests import WorkPoolCreate, WorkPoolUpdate, WorkQueueCreate
from catalog.api.worker_filters import WorkersFilterBody
from catalog.models import WorkPool, WorkQueue
from catalog.rendering.serializers import WorkPoolSerializer, WorkQueueSerializer
from catalog.rules.limits import (
    RESERVED_WORK_POOL_DELETE,
    RESERVED_WORK_POOL_NAME,
    RESERVED_WORK_POOL_UPDATE,
)
from catalog.services import work_pools

WORK_POOL_NOT_FOUND = error('Work pool "{name}" not found.')
POOL_QUEUE_NOT_FOUND = "Work pool queue '{pool}/{queue}' not found."
QUEUE_NAME = path_parameter("name", "The work pool queue name")


def work_pool_or_404(name: str) -> WorkPool:
    pools = WorkPool.objects.select_related("default_queue")
    pool = pools.filter(name=name).first() if storable(name) else None
    if pool is None:
        raise ApiError(404, f'Work pool "{name}" not found.')
    return pool


class WorkPoolCreateView(PrefectAPIView):
    """`POST /api/work_pools/`: 201 with the pool and its default queue; 403 for a
    name starting with "prefect"; 409 for a taken name."""

    @extend_schema(
        summary="Create Work Pool",
        request=json_body(WorkPoolCreate),
        responses={
            201: ok(returns(responses.WorkPoolResponse), "The new work pool"),
            403: error(RESERVED_WORK_POOL_NAME),
            409: error(work_pools.POOL_TAKEN),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        new = required_body(request, WorkPoolCreate)
        pool = work_pools.work_pool_create(values=new.values(), context=write_context(request))
        return Response(WorkPoolSerializer(pool).data, status=201)


class WorkPoolDetailView(PrefectAPIView):
    """`GET`, `PATCH` (204) and `DELETE` (204) `/api/work_pools/{name}`; 404 `Work pool
    "{name}" not found.` A name starting with "prefect" is 403 whether or not it exists
    for a delete, and for a change other than pausing or a concurrency limit."""

    prefect_allow = "GET"

    @extend_schema(
        summary="Read Work Pool",
        parameters=[WORK_POOL_NAME],
        responses={200: ok(returns(responses.WorkPoolResponse)), 404: WORK_POOL_NOT_FOUND},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(WorkPoolSerializer(work_pool_or_404(name)).data)

    @extend_schema(
        summary="Update Work Pool",
        parameters=[WORK_POOL_NAME],
        request=json_body(WorkPoolUpdate),
        responses={
            204: NO_CONTENT,
            403: error(RESERVED_WORK_POOL_UPDATE),
            404: WORK_POOL_NOT_FOUND,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def patch(self, request: Request, name: str) -> Response:
        update = required_body(request, WorkPoolUpdate)
        work_pools.work_pool_update_named(
            name=name, changes=update.changes(), context=write_context(request)
        )
        return no_content()

    @extend_schema(
        summary="Delete Work Pool",
        parameters=[WORK_POOL_NAME],
        responses={
            204: NO_CONTENT,
            403: error(RESERVED_WORK_POOL_DELETE),
            404: WORK_POOL_NOT_FOUND,
        },
    )
    def delete(self, request: Request, name: str) -> Response:
        work_pools.work_pool_delete_named(name=name, context=write_context(request))
        return no_content()


@extend_schema_view(
    post=extend_schema(
        summary="Read Work Pools",
        request=json_body(filters.WorkPoolsFilterBody, required=False),
        responses={200: ok(list_of(responses.WorkPoolResponse)), 422: INVALID_BODY},
    )
)
class WorkPoolFilterView(FilterRouteView):
    """`POST /api/work_pools/filter`: pools matching a `work_pools` filter, by name."""

    body_model = filters.WorkPoolsFilterBody
    parameter_route = ("work-pool-detail", WorkPoolDetailView, {"name": "filter"})

    def answer(self, query, limit: int) -> Response:
        pools = WorkPool.objects.order_by("name")
        if query.work_pools is not None:
            pools = pools.filter(query.work_pools.as_q())
        page = pools[query.offset : query.offset + limit]
        return Response(WorkPoolSerializer(page, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="Read Work Queues",
        parameters=[WORK_POOL_NAME_IN_QUEUE_ROUTES],
        request=json_body(filters.WorkQueuesFilterBody, required=False),
        responses={
            200: ok(list_of(responses.WorkQueueResponse)),
            404: WORK_POOL_NOT_FOUND,
            422: INVALID_BODY,
        },
    )
)
class WorkQueueFilterView(FilterRouteView):
    """`POST /api/work_pools/{work_pool_name}/queues/filter`: the pool's queues, by
    priority; 404 `Work pool "{name}" not found.`"""

    body_model = filters.WorkQueuesFilterBody

    def answer(self, query, limit: int, work_pool_name: str) -> Response:
        queues = work_pool_or_404(work_pool_name).queues.select_related("work_pool")
        if query.work_queues is not None:
            queues = queues.filter(query.work_queues.as_q())
        page = queues.order_by("priority", "name")[query.offset : query.offset + limit]
        return Response(WorkQueueSerializer(page, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="Read Workers",
        parameters=[WORK_POOL_NAME_IN_QUEUE_ROUTES],
        request=json_body(WorkersFilterBody, required=False),
        responses={
            200: ok({"type": "array", "items": {}, "maxItems": 0}, "Always empty"),
            404: WORK_POOL_NOT_FOUND,
            422: INVALID_BODY,
        },
    )
)
class WorkersFilterView(FilterRouteView):
    """`POST /api/work_pools/{work_pool_name}/workers/filter`: the pool's workers. The
    catalog keeps no workers' heartbeats, so the answer is `[]`, as Prefect's for a pool
    no worker has polled; 404 `Work pool "{name}" not found.`"""

    body_model = WorkersFilterBody

    def answer(self, query, limit: int, work_pool_name: str) -> Response:
        work_pool_or_404(work_pool_name)
        return Response([])


class WorkPoolQueueCreateView(PrefectAPIView):
    """`POST /api/work_pools/{work_pool_name}/queues`: 201 with the new queue; 404 for a
    missing pool (after the body is checked), 409 for a name the pool already has."""

    @extend_schema(
        summary="Create Work Queue",
        parameters=[WORK_POOL_NAME_IN_QUEUE_ROUTES],
        request=json_body(WorkQueueCreate),
        responses={
            201: ok(returns(responses.WorkQueueResponse), "The new work queue"),
            404: WORK_POOL_NOT_FOUND,
            409: error(work_pools.QUEUE_TAKEN),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request, work_pool_name: str) -> Response:
        new = required_body(request, WorkQueueCreate)
        queue = work_pools.work_queue_create(
            pool_name=work_pool_name, values=new.values(), context=write_context(request)
        )
        return Response(WorkQueueSerializer(queue).data, status=201)


class WorkPoolQueueDetailView(PrefectAPIView):
    """`GET /api/work_pools/{work_pool_name}/queues/{name}`; 404 `Work pool queue
    '{pool}/{queue}' not found.` whether the pool or the queue is missing."""

    @extend_schema(
        summary="Read Work Queue",
        parameters=[WORK_POOL_NAME_IN_QUEUE_ROUTES, QUEUE_NAME],
        responses={
            200: ok(returns(responses.WorkQueueResponse)),
            404: error(POOL_QUEUE_NOT_FOUND),
        },
    )
    def get(self, request: Request, work_pool_name: str, name: str) -> Response:
        queues = WorkQueue.objects.select_related("work_pool")
        found = storable(work_pool_name, name)
        queue = queues.filter(work_pool__name=work_pool_name, name=name).first() if found else None
        if queue is None:
            raise ApiError(404, POOL_QUEUE_NOT_FOUND.format(pool=work_pool_name, queue=name))
        return Response(WorkQueueSerializer(queue).data)
