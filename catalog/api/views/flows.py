"""Flows: `/api/flows/…`."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters
from catalog.api import request_models as requests
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.openapi import (
    FLOW_ID,
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
    write_context,
)
from catalog.models import Flow
from catalog.rendering.serializers import FlowSerializer, page_of
from catalog.services import flows

FLOW_NOT_FOUND = "Flow not found"


def flow_or_404(**lookup) -> Flow:
    return get_or_404(Flow.objects, FLOW_NOT_FOUND, **lookup)


class FlowCreateView(PrefectAPIView):
    """`POST /api/flows/`: 201 with the new flow, or 200 with the existing flow of that
    name, unchanged; 422 for a bad body."""

    prefect_allow = "POST"

    @extend_schema(
        summary="Create Flow",
        request=json_body(requests.FlowCreate),
        responses={
            200: ok(returns(responses.Flow), "The flow of that name, which already existed"),
            201: ok(returns(responses.Flow), "The new flow"),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        new = required_body(request, requests.FlowCreate)
        flow, created = flows.flow_create(
            name=new.name, tags=new.tags, labels=new.labels, context=write_context(request)
        )
        return Response(FlowSerializer(flow).data, status=201 if created else 200)


class FlowDetailView(PrefectAPIView):
    """`GET`, `PATCH` (tags; 204) and `DELETE` (204, with its deployments)
    `/api/flows/{id}`; 404 `Flow not found`."""

    prefect_allow = "PATCH"

    @extend_schema(
        summary="Read Flow",
        parameters=[FLOW_ID],
        responses={200: ok(returns(responses.Flow)), 404: error(FLOW_NOT_FOUND)},
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        return Response(FlowSerializer(flow_or_404(id=id)).data)

    @extend_schema(
        summary="Update Flow",
        parameters=[FLOW_ID],
        request=json_body(requests.FlowUpdate),
        responses={204: NO_CONTENT, 404: error(FLOW_NOT_FOUND), 422: INVALID_BODY},
    )
    def patch(self, request: Request, id: uuid.UUID) -> Response:
        update = required_body(request, requests.FlowUpdate)
        flows.flow_update(
            flow=flow_or_404(id=id), changes=requests.given(update), context=write_context(request)
        )
        return no_content()

    @extend_schema(
        summary="Delete Flow",
        parameters=[FLOW_ID],
        responses={204: NO_CONTENT, 404: error(FLOW_NOT_FOUND)},
    )
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        flows.flow_delete(flow=flow_or_404(id=id), context=write_context(request))
        return no_content()


class FlowByNameView(PrefectAPIView):
    """`GET /api/flows/name/{name}`: the flow; 404 `Flow not found`."""

    @extend_schema(
        summary="Read Flow By Name",
        parameters=[path_parameter("name", "The name of the flow")],
        responses={200: ok(returns(responses.Flow)), 404: error(FLOW_NOT_FOUND)},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(FlowSerializer(flow_or_404(name=name)).data)


@extend_schema_view(
    post=extend_schema(
        summary="Read Flows",
        request=json_body(filters.FlowsFilterBody, required=False),
        responses={200: ok(list_of(responses.Flow)), 422: INVALID_BODY},
    )
)
class FlowFilterView(FilterRouteView):
    """`POST /api/flows/filter`: flows matching Prefect's filter body, sorted and paged."""

    body_model = filters.FlowsFilterBody

    def answer(self, query, limit: int) -> Response:
        matching = query.apply(Flow.objects.all()).order_by(*query.sort.order_by())
        page = matching[query.offset : query.offset + limit]
        return Response(FlowSerializer(page, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="Count Flows",
        request=json_body(filters.FlowsQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
)
class FlowCountView(FilterRouteView):
    """`POST /api/flows/count`: the number of matching flows, as a bare integer."""

    body_model = filters.FlowsQuery
    reads_limit = False

    def answer(self, query, limit: None) -> Response:
        return Response(query.apply(Flow.objects.all()).count())


@extend_schema_view(
    post=extend_schema(
        summary="Paginate Flows",
        request=json_body(filters.FlowsPageBody, required=False),
        responses={200: ok(returns(responses.FlowPaginationResponse)), 422: INVALID_BODY},
    )
)
class FlowPaginateView(FilterRouteView):
    """`POST /api/flows/paginate`: `{"results", "count", "limit", "pages", "page"}`."""

    body_model = filters.FlowsPageBody

    def answer(self, query, limit: int) -> Response:
        matching = query.apply(Flow.objects.all()).order_by(*query.sort.order_by())
        start = (query.page - 1) * limit
        results = FlowSerializer(matching[start : start + limit], many=True).data
        return Response(page_of(results, matching.count(), limit, query.page))
