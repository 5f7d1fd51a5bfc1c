"""Variables: `/api/variables/…`."""

from drf_spectacular.types import OpenApiTypes
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
from catalog.models import Variable
from catalog.rendering.serializers import VariableSerializer
from catalog.services import variables

VARIABLE_NOT_FOUND_MESSAGE = "Variable not found."
VARIABLE_NOT_FOUND = error(VARIABLE_NOT_FOUND_MESSAGE)


def variable_or_404(**lookup) -> Variable:
    return get_or_404(Variable.objects, VARIABLE_NOT_FOUND_MESSAGE, **lookup)


class VariableCreateView(PrefectAPIView):
    """`POST /api/variables/`: 201 with the variable; 409 `A variable with the name '…'
    already exists.`; 422 for a bad body (name rules, a value over 5,000 bytes)."""

    prefect_allow = "POST"

    @extend_schema(
        summary="Create Variable",
        request=json_body(requests.VariableCreate),
        responses={
            201: ok(returns(responses.Variable), "The new variable"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        new = required_body(request, requests.VariableCreate)
        variable = variables.variable_create(
            values=new.model_dump(), context=write_context(request)
        )
        return Response(VariableSerializer(variable).data, status=201)


class VariableDetailView(PrefectAPIView):
    """`GET`, `PATCH` (only the keys sent; 204) and `DELETE` (204) on
    `/api/variables/{id}` and `/api/variables/name/{name}`; 404 `Variable not found.`;
    PATCH: 409 for a taken name, 422 for a bad body (checked before the lookup)."""

    prefect_allow = "GET"

    @extend_schema(
        summary="Read Variable",
        responses={200: ok(returns(responses.Variable)), 404: VARIABLE_NOT_FOUND},
    )
    def get(self, request: Request, **lookup) -> Response:
        return Response(VariableSerializer(variable_or_404(**lookup)).data)

    @extend_schema(
        summary="Update Variable",
        request=json_body(requests.VariableUpdate),
        responses={204: NO_CONTENT, 404: VARIABLE_NOT_FOUND, 409: CONFLICT, 422: INVALID_BODY},
    )
    def patch(self, request: Request, **lookup) -> Response:
        update = required_body(request, requests.VariableUpdate)
        variables.variable_update(
            variable=variable_or_404(**lookup),
            changes=update.model_dump(exclude_unset=True),
            context=write_context(request),
        )
        return no_content()

    @extend_schema(
        summary="Delete Variable",
        responses={204: NO_CONTENT, 404: VARIABLE_NOT_FOUND},
    )
    def delete(self, request: Request, **lookup) -> Response:
        variables.variable_delete(
            variable=variable_or_404(**lookup), context=write_context(request)
        )
        return no_content()


@extend_schema_view(
    get=extend_schema(summary="Read Variable By Name"),
    patch=extend_schema(summary="Update Variable By Name"),
    delete=extend_schema(summary="Delete Variable By Name"),
)
class VariableByNameView(VariableDetailView):
    """`GET`, `PATCH` (204) and `DELETE` (204) `/api/variables/name/{name}`, as
    `/api/variables/{id}` answers them."""


@extend_schema_view(
    post=extend_schema(
        summary="Read Variables",
        request=json_body(filters.VariablesFilterBody, required=False),
        responses={200: ok(list_of(responses.Variable)), 422: INVALID_BODY},
    )
)
class VariableFilterView(FilterRouteView):
    """`POST /api/variables/filter`: variables matching a `variables` filter, sorted
    (`NAME_ASC` by default) and paged by `limit` (≤ 200) and `offset`."""

    body_model = filters.VariablesFilterBody

    def answer(self, query, limit: int) -> Response:
        matching = query.apply(Variable.objects.all()).order_by(*query.sort.order_by())
        page = matching[query.offset : query.offset + limit]
        return Response(VariableSerializer(page, many=True).data)


@extend_schema_view(
    post=extend_schema(
        summary="Count Variables",
        request=json_body(filters.VariablesQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
)
class VariableCountView(FilterRouteView):
    """`POST /api/variables/count`: the number of matching variables."""

    body_model = filters.VariablesQuery
    reads_limit = False

    def answer(self, query, limit: None) -> Response:
        return Response(query.apply(Variable.objects.all()).count())
