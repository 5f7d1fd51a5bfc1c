"""Global concurrency limits: `/api/v2/concurrency_limits/…`."""

import uuid

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters
from catalog.api import request_models as requests
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.openapi import (
    CONFLICT,
    INVALID_BODY,
    LIMIT_ID_OR_NAME,
    NO_CONTENT,
    error,
    json_body,
    list_of,
    ok,
    returns,
)
from catalog.api.views.base import (
    FilterRouteView,
    PrefectAPIView,
    get_or_404,
    no_content,
    write_context,
)
from catalog.models import ConcurrencyLimit
from catalog.rendering.serializers import (
    ConcurrencyLimitSerializer,
    DeploymentConcurrencyLimitSerializer,
)
from catalog.services import limits

LIMIT_NOT_FOUND_MESSAGE = "Concurrency Limit not found"
LIMIT_NOT_FOUND = error(LIMIT_NOT_FOUND_MESSAGE)


def limit_by_id_or_name(id_or_name: str) -> ConcurrencyLimit:
    try:
        lookup = {"id": uuid.UUID(id_or_name)}
    except ValueError:
        lookup = {"name": id_or_name}
    return get_or_404(ConcurrencyLimit.objects, LIMIT_NOT_FOUND_MESSAGE, **lookup)


class ConcurrencyLimitCreateView(PrefectAPIView):
    """`POST /api/v2/concurrency_limits/`: 201 with the limit; 409 for a taken name."""

    prefect_allow = "POST"

    @extend_schema(
        summary="Create Concurrency Limit V2",
        request=json_body(requests.ConcurrencyLimitV2Create),
        responses={
            201: ok(returns(responses.ConcurrencyLimitV2), "The new limit"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        new = required_body(request, requests.ConcurrencyLimitV2Create)
        limit = limits.concurrency_limit_create(
            values=new.model_dump(), context=write_context(request)
        )
        return Response(ConcurrencyLimitSerializer(limit).data, status=201)


class ConcurrencyLimitDetailView(PrefectAPIView):
    """`GET`, `PATCH` (204) and `DELETE` (204) `/api/v2/concurrency_limits/{id or name}`;
    404 `Concurrency Limit not found`."""

    prefect_allow = "GET"

    @extend_schema(
        summary="Read Concurrency Limit V2",
        parameters=[LIMIT_ID_OR_NAME],
        responses={
            200: ok(returns(responses.GlobalConcurrencyLimitResponse)),
            404: LIMIT_NOT_FOUND,
        },
    )
    def get(self, request: Request, id_or_name: str) -> Response:
        limit = limit_by_id_or_name(id_or_name)
        return Response(DeploymentConcurrencyLimitSerializer(limit).data)

    @extend_schema(
        summary="Update Concurrency Limit V2",
        parameters=[LIMIT_ID_OR_NAME],
        request=json_body(requests.ConcurrencyLimitV2Update),
        responses={204: NO_CONTENT, 404: LIMIT_NOT_FOUND, 409: CONFLICT, 422: INVALID_BODY},
    )
    def patch(self, request: Request, id_or_name: str) -> Response:
        update = required_body(request, requests.ConcurrencyLimitV2Update)
        limits.concurrency_limit_update(
            limit=limit_by_id_or_name(id_or_name),
            changes=update.model_dump(exclude_unset=True),
            context=write_context(request),
        )
        return no_content()

    @extend_schema(
        summary="Delete Concurrency Limit V2",
        parameters=[LIMIT_ID_OR_NAME],
        responses={204: NO_CONTENT, 404: LIMIT_NOT_FOUND},
    )
    def delete(self, request: Request, id_or_name: str) -> Response:
        limits.concurrency_limit_delete(
            limit=limit_by_id_or_name(id_or_name), context=write_context(request)
        )
        return no_content()


@extend_schema_view(
    post=extend_schema(
        summary="Read All Concurrency Limits V2",
        request=json_body(filters.OffsetBody, required=False),
        responses={
            200: ok(list_of(responses.GlobalConcurrencyLimitResponse)),
            422: INVALID_BODY,
        },
    )
)
class ConcurrencyLimitFilterView(FilterRouteView):
    """`POST /api/v2/concurrency_limits/filter`: limits by name, paged."""

    body_model = filters.OffsetBody
    parameter_route = (
        "concurrency-limit-detail",
        ConcurrencyLimitDetailView,
        {"id_or_name": "filter"},
    )

    def answer(self, paging, limit: int) -> Response:
        page = ConcurrencyLimit.objects.order_by("name")[paging.offset : paging.offset + limit]
        return Response(DeploymentConcurrencyLimitSerializer(page, many=True).data)
