"""Work queues across pools: `/api/work_queues/…`, the routes `prefect work-queue` reads."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.openapi import (
    CONFLICT,
    INVALID_BODY,
    NO_CONTENT,
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
    get_or_404,
    no_content,
    storable,
    write_context,
)
from catalog.api.work_pool_requests import WorkQueueUpdate
from catalog.models import DEFAULT_AGENT_POOL, WorkPool, WorkQueue
from catalog.rendering.serializers import WorkQueueSerializer
from catalog.services import work_pools

QUEUE_NOT_FOUND = "work queue not found"
QUEUE_ID = path_parameter("id", "The work queue id", OpenApiTypes.UUID)
# Prefect orders by name alone; ties come in the order the queues were made.
QUEUE_ORDER = ("name", "created", "id")


def work_queues():
    return WorkQueue.objects.select_related("work_pool")


@extend_schema_view(
    post=extend_schema(
        summary="Read Work Queues",
        request=json_body(filters.WorkQueuesFilterBody, required=False),
        responses={200: ok(list_of(responses.WorkQueueResponse)), 422: INVALID_BODY},
    )
)
class WorkQueuesFilterView(FilterRouteView):
    """`POST /api/work_queues/filter`: the queues of every pool matching a `work_queues`
    filter, by name."""

    body_model = filters.WorkQueuesFilterBody

    def answer(self, query, limit: int) -> Response:
        queues = work_queues().order_by(*QUEUE_ORDER)
        if query.work_queues is not None:
            queues = queues.filter(query.work_queues.as_q())
        page = queues[query.offset : query.offset + limit]
        return Response(WorkQueueSerializer(page, many=True).data)


class WorkQueueDetailView(PrefectAPIView):
    """`GET`, `PATCH` (only the keys sent; 204) and `DELETE` (204) `/api/work_queues/{id}`;
    404 `work queue not found` (`Work Queue {id} not found` for PATCH, after the body is
    checked); DELETE of a pool's default queue is 409."""

    @extend_schema(
        summary="Read Work Queue",
        parameters=[QUEUE_ID],
        responses={200: ok(returns(responses.WorkQueueResponse)), 404: error(QUEUE_NOT_FOUND)},
    )
    def get(self, request: Request, id) -> Response:
        queue = get_or_404(work_queues(), QUEUE_NOT_FOUND, id=id)
        return Response(WorkQueueSerializer(queue).data)

    @extend_schema(
        summary="Update Work Queue",
        parameters=[QUEUE_ID],
        request=json_body(WorkQueueUpdate),
        responses={
            204: NO_CONTENT,
            404: error("Work Queue {id} not found"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def patch(self, request: Request, id) -> Response:
        update = required_body(request, WorkQueueUpdate)
        queue = get_or_404(work_queues(), f"Work Queue {id} not found", id=id)
        work_pools.work_queue_update(
            queue=queue, changes=update.changes(), context=write_context(request)
        )
        return no_content()

    @extend_schema(
        summary="Delete Work Queue",
        parameters=[QUEUE_ID],
        responses={204: NO_CONTENT, 404: error(QUEUE_NOT_FOUND), 409: CONFLICT},
    )
    def delete(self, request: Request, id) -> Response:
        queue = get_or_404(work_queues(), QUEUE_NOT_FOUND, id=id)
        work_pools.work_queue_delete(queue=queue, context=write_context(request))
        return no_content()


class WorkQueueStatusView(PrefectAPIView):
    """`GET /api/work_queues/{id}/status`: the catalog runs nothing, so no run is late and
    no worker polls: a queue never polled is unhealthy, as in Prefect. A missing queue is
    404 with Prefect's `exception_message` body."""

    @extend_schema(
        summary="Read Work Queue Status",
        parameters=[QUEUE_ID],
        responses={
            200: ok(returns(responses.WorkQueueStatusDetail)),
            # A path whose id is no UUID matches no route: its 404 has a `detail`.
            404: ok(
                {"anyOf": [returns(responses.ObjectNotFound), returns(responses.HTTPError)]},
                "Work queue with id {id} not found, or no such route",
            ),
        },
    )
    def get(self, request: Request, id) -> Response:
        queue = work_queues().filter(id=id).first()
        if queue is None:
            message = f"Work queue with id {id} not found"
            return Response({"exception_message": message}, status=404)
        return Response(
            {
                "healthy": False,
                "late_runs_count": 0,
                "last_polled": WorkQueueSerializer(queue).data["last_polled"],
                "health_check_policy": {
                    "maximum_late_runs": 0,
                    "maximum_seconds_since_last_polled": 60,
                },
            }
        )


class WorkQueueByNameView(PrefectAPIView):
    """`GET /api/work_queues/name/{name}`: the queue of that name in `default-agent-pool`
    when that pool exists, else the first queue made with that name, as in Prefect."""

    @extend_schema(
        summary="Read Work Queue By Name",
        parameters=[path_parameter("name", "The work queue name")],
        responses={200: ok(returns(responses.WorkQueueResponse)), 404: error(QUEUE_NOT_FOUND)},
    )
    def get(self, request: Request, name: str) -> Response:
        if not storable(name):
            raise exceptions.NotFound(QUEUE_NOT_FOUND)
        named = work_queues().filter(name=name).order_by("created", "id")
        if WorkPool.objects.filter(name=DEFAULT_AGENT_POOL).exists():
            named = named.filter(work_pool__name=DEFAULT_AGENT_POOL)
        queue = named.first()
        if queue is None:
            raise exceptions.NotFound(QUEUE_NOT_FOUND)
        return Response(WorkQueueSerializer(queue).data)
