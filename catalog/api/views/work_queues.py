"""Work queues across pools: `/api/work_queues/…`, the routes `prefect work-queue` reads."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters
from catalog.api import response_models as responses
from catalog.api.openapi import INVALID_BODY, error, json_body, list_of, ok, path_parameter, returns
from catalog.api.views.base import FilterRouteView, PrefectAPIView, get_or_404, storable
from catalog.models import DEFAULT_AGENT_POOL, WorkPool, WorkQueue
from catalog.rendering.serializers import WorkQueueSerializer

QUEUE_NOT_FOUND = "work queue not found"
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
    """`GET /api/work_queues/{id}`; 404 `work queue not found`."""

    @extend_schema(
        summary="Read Work Queue",
        parameters=[path_parameter("id", "The work queue id", OpenApiTypes.UUID)],
        responses={200: ok(returns(responses.WorkQueueResponse)), 404: error(QUEUE_NOT_FOUND)},
    )
    def get(self, request: Request, id) -> Response:
        queue = get_or_404(work_queues(), QUEUE_NOT_FOUND, id=id)
        return Response(WorkQueueSerializer(queue).data)


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
