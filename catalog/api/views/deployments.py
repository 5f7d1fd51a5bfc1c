"""Deployments: `/api/deployments/…`, Prefect's routes and a plain REST listing."""

import uuid

from django.http import HttpResponse
from django.utils.cache import get_conditional_response
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import filters, listing_filters
from catalog.api import request_models as requests
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.errors import ApiError, deployment_name_error
from catalog.api.openapi import (
    CONFLICT,
    DEPLOYMENT_ID,
    INVALID_BODY,
    NO_CONTENT,
    error,
    json_body,
    list_of,
    ok,
    path_parameter,
    returns,
)
from catalog.api.query_limits import StrictLimitOffsetPagination
from catalog.api.views.base import (
    FilterRouteView,
    PrefectAPIView,
    json_response,
    no_content,
    storable,
    write_context,
)
from catalog.models import Deployment
from catalog.models.pages import count_of
from catalog.rendering import json_cache
from catalog.rendering.deployment_json import deployment_instance_json
from catalog.rendering.serializers import page_of
from catalog.rules.page_orders import total_order
from catalog.services import deployments

DEPLOYMENT_NOT_FOUND_MESSAGE = deployments.DEPLOYMENT_NOT_FOUND
# Prefect's PATCH and schedule routes spell it with a full stop.
DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE = "Deployment not found."
DEPLOYMENT = returns(responses.DeploymentResponse)
DEPLOYMENT_NOT_FOUND = error(DEPLOYMENT_NOT_FOUND_MESSAGE)
DEPLOYMENT_NOT_FOUND_PERIOD = error(DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE)


def deployments_json(matching, order: list[str], offset: int, limit: int) -> bytes:
    """A page of deployments as a JSON array of their kept bodies."""
    return json_cache.json_array(json_cache.page_bodies(matching, order, offset, limit))


def deployment_response(request: Request, body: bytes | None) -> HttpResponse:
    """A deployment's JSON with its ETag, 304 when the client holds that very body."""
    if body is None:
        raise exceptions.NotFound(DEPLOYMENT_NOT_FOUND_MESSAGE)
    etag = json_cache.etag_of(body)
    response = get_conditional_response(request, etag=etag) or json_response(body)
    response["ETag"] = etag
    return response


class DeploymentListPagination(StrictLimitOffsetPagination):
    default_limit = 200
    max_limit = 200

    def paginate_queryset(self, queryset, request, view=None) -> list:
        """DRF's count and page, the page being the kept bodies of the ids `page_ids`
        reads."""
        self.request = request
        self.limit = self.get_limit(request)
        self.count = count_of(queryset)
        self.offset = self.get_offset(request)
        self.display_page_controls = self.count > self.limit and self.template is not None
        if self.count == 0 or self.offset > self.count:
            return []
        # `?ordering=` names a column alone: the id breaks its ties.
        order = total_order(queryset.query.order_by)
        return json_cache.page_bodies(queryset, order, self.offset, self.limit)

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """DRF's page schema, with the null links written as OpenAPI 3.1 writes them."""
        page = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            page["properties"][link] = {
                "anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]
            }
        return page


# The query parameters django-filter cannot describe itself.
LISTING_PARAMETERS = [
    OpenApiParameter("paused", OpenApiTypes.BOOL),
    OpenApiParameter(
        "tag",
        {"type": "array", "items": {"type": "string"}},
        explode=True,
        description="Repeat it for more tags; deployments with all of them, or any with "
        "`tag_match=any`.",
    ),
    OpenApiParameter("tag_match", OpenApiTypes.STR, enum=["all", "any"], default="all"),
]


@extend_schema_view(
    get=extend_schema(
        summary="List Deployments",
        parameters=LISTING_PARAMETERS,
        responses={200: ok(DEPLOYMENT), 400: error("A query parameter with a bad value")},
    )
)
class DeploymentCollectionView(PrefectAPIView, generics.ListAPIView):
    """`GET /api/deployments/`: a plain REST listing for clients that do not speak Prefect's
    filter bodies, filtered by query parameters (see `DeploymentFilterSet`), with
    `ordering` and `limit`/`offset`; 400 names a parameter with a bad value.
    """

    prefect_allow = "POST"
    # Prefect's own server fails on such names; the catalog answers in its error shape.
    problem_answers = {"banned_characters": deployment_name_error}

    filter_backends = [DjangoFilterBackend]
    filterset_class = listing_filters.DeploymentFilterSet
    pagination_class = DeploymentListPagination

    def get_queryset(self):
        return Deployment.objects.only("id").order_by("name", "id")

    def list(self, request: Request, *args, **kwargs) -> HttpResponse:
        """The page's kept bodies, in the envelope DRF's pagination writes: they go in
        place of its empty `results`, its last key, not parsed and written again."""
        queryset = self.filter_queryset(self.get_queryset())
        bodies = self.paginate_queryset(queryset)
        envelope = self.get_paginated_response([]).data
        return json_response(json_cache.with_results(envelope, bodies))

    @extend_schema(
        summary="Create Deployment",
        request=json_body(requests.DeploymentCreate),
        responses={
            200: ok(DEPLOYMENT, "The deployment of that flow and name, updated"),
            201: ok(DEPLOYMENT, "The new deployment"),
            404: error("An unknown work pool or global concurrency limit"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        """`POST /api/deployments/`: create, or update the deployment of the same flow and
        name (201 created, 200 updated); 404 for an unknown work pool or concurrency limit;
        409 for an unknown flow; 422 for a bad body."""
        data = required_body(request, requests.DeploymentCreate)
        deployment, created = deployments.deployment_upsert(
            given=requests.given(data), context=write_context(request)
        )
        deployment = Deployment.objects.with_related().get(id=deployment.id)
        return Response(deployment_instance_json(deployment), status=201 if created else 200)

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.ValidationError) and self.request.method == "GET":
            exc = ApiError(400, describe_query_errors(exc.detail))
        return super().handle_exception(exc)


def describe_query_errors(detail) -> str:
    problems = []
    for parameter, messages in detail.items() if isinstance(detail, dict) else []:
        problems.append(f"{parameter}: {' '.join(str(message) for message in messages)}")
    return "; ".join(problems) or "Invalid query parameters."


class DeploymentDetailView(PrefectAPIView):
    """`GET /api/deployments/{id}`: 200 with the deployment; 404 `Deployment not found`.
    `PATCH`: 204 after a partial update with Prefect's rules; 404 `Deployment not found.`.
    `DELETE`: 204; 404 `Deployment not found`.

    The id may be upper-case or written without hyphens, as Prefect accepts it.
    """

    prefect_allow = "PATCH"

    @property
    def not_found_messages(self) -> dict[str, str]:
        if self.request.method == "PATCH":
            return {"deployment": DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE}
        return {}

    @extend_schema(
        summary="Read Deployment",
        parameters=[DEPLOYMENT_ID],
        responses={200: ok(DEPLOYMENT), 404: DEPLOYMENT_NOT_FOUND},
    )
    def get(self, request: Request, id: uuid.UUID) -> HttpResponse:
        return deployment_response(request, json_cache.deployment_body(id))

    @extend_schema(
        summary="Update Deployment",
        parameters=[DEPLOYMENT_ID],
        request=json_body(requests.DeploymentUpdate),
        responses={
            204: NO_CONTENT,
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def patch(self, request: Request, id: uuid.UUID) -> Response:
        update = required_body(request, requests.DeploymentUpdate)
        deployments.deployment_update(
            deployment_id=id, given=requests.given(update), context=write_context(request)
        )
        return no_content()

    @extend_schema(
        summary="Delete Deployment",
        parameters=[DEPLOYMENT_ID],
        responses={204: NO_CONTENT, 404: DEPLOYMENT_NOT_FOUND},
    )
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        deployments.deployment_delete(deployment_id=id, context=write_context(request))
        return no_content()


class DeploymentByNameView(PrefectAPIView):
    """`GET /api/deployments/name/{flow_name}/{deployment_name}`; 404 `Deployment not found`."""

    @extend_schema(
        summary="Read Deployment By Name",
        parameters=[
            path_parameter("flow_name", "The name of the flow"),
            path_parameter("deployment_name", "The name of the deployment"),
        ],
        responses={200: ok(DEPLOYMENT), 404: DEPLOYMENT_NOT_FOUND},
    )
    def get(self, request: Request, flow_name: str, deployment_name: str) -> HttpResponse:
        if not storable(flow_name, deployment_name):
            return deployment_response(request, None)
        named = Deployment.objects.filter(flow__name=flow_name, name=deployment_name)
        id = named.values_list("id", flat=True).first()
        return deployment_response(request, id and json_cache.deployment_body(id))


@extend_schema_view(
    post=extend_schema(
        summary="Read Deployments",
        request=json_body(filters.DeploymentsFilterBody, required=False),
        responses={200: ok(list_of(responses.DeploymentResponse)), 422: INVALID_BODY},
    )
)
class DeploymentFilterView(FilterRouteView):
    """`POST /api/deployments/filter`: deployments matching Prefect's filter body, in one
    query on PostgreSQL (two on SQLite) whatever the number of deployments and schedules,
    once their bodies are kept (and a lookup of the flows, pools or queues it names)."""

    body_model = filters.DeploymentsFilterBody

    def answer(self, query, limit: int) -> HttpResponse:
        matching = query.apply(Deployment.objects.all())
        return json_response(deployments_json(matching, query.sort.order_by(), query.offset, limit))


@extend_schema_view(
    post=extend_schema(
        summary="Count Deployments",
        request=json_body(filters.DeploymentsQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
)
class DeploymentCountView(FilterRouteView):
    """`POST /api/deployments/count`: the number of matching deployments."""

    body_model = filters.DeploymentsQuery
    reads_limit = False

    def answer(self, query, limit: None) -> Response:
        return Response(count_of(query.apply(Deployment.objects.all())))


@extend_schema_view(
    post=extend_schema(
        summary="Paginate Deployments",
        request=json_body(filters.DeploymentsPageBody, required=False),
        responses={
            200: ok(returns(responses.DeploymentPaginationResponse)),
            422: INVALID_BODY,
        },
    )
)
class DeploymentPaginateView(FilterRouteView):
    """`POST /api/deployments/paginate`: a page with `count`, `limit`, `pages`, `page`."""

    body_model = filters.DeploymentsPageBody

    def answer(self, query, limit: int) -> HttpResponse:
        matching = query.apply(Deployment.objects.all())
        start = (query.page - 1) * limit
        bodies = json_cache.page_bodies(matching, query.sort.order_by(), start, limit)
        envelope = page_of([], count_of(matching), limit, query.page)
        return json_response(json_cache.with_results(envelope, bodies))


@extend_schema_view(
    post=extend_schema(
        summary="Bulk Delete Deployments",
        request=json_body(filters.DeploymentsBulkDeleteBody, required=False),
        responses={
            200: ok(returns(responses.DeploymentBulkDeleteResponse)),
            422: INVALID_BODY,
        },
    )
)
class DeploymentBulkDeleteView(FilterRouteView):
    """`POST /api/deployments/bulk_delete`: deletes up to `limit` (1 to 50) matching
    deployments; 200 `{"deleted": [ids]}`."""

    body_model = filters.DeploymentsBulkDeleteBody
    reads_limit = False

    def post(self, request: Request, **route) -> HttpResponse:
        return super().post(request, **route)

    def answer(self, query, limit: None) -> Response:
        matching = Deployment.objects.all()
        if query.deployments is not None:
            matching = matching.filter(query.deployments.as_q())
        chosen = matching.order_by(*filters.DeploymentSort.NAME_ASC.order_by())[: query.limit]
        deleted = deployments.deployments_delete(
            deployments=chosen, context=write_context(self.request)
        )
        return Response({"deleted": [str(deployment_id) for deployment_id in deleted]})


class DeploymentPauseView(PrefectAPIView):
    """`POST /api/deployments/{id}/pause_deployment`: 200 `null`; schedules keep their
    `active` flags. 404 `Deployment not found`."""

    paused = True

    @extend_schema(
        summary="Pause Deployment",
        parameters=[DEPLOYMENT_ID],
        request=None,
        responses={200: ok({"type": "null"}), 404: DEPLOYMENT_NOT_FOUND},
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        deployments.deployment_set_paused(
            deployment_id=id, paused=self.paused, context=write_context(request)
        )
        return Response(None)


@extend_schema_view(post=extend_schema(summary="Resume Deployment"))
class DeploymentResumeView(DeploymentPauseView):
    """`POST /api/deployments/{id}/resume_deployment`: 200 `null`."""

    paused = False


class ScheduledFlowRunsView(PrefectAPIView):
    """`POST /api/deployments/get_scheduled_flow_runs`: a worker's poll. The catalog
    runs nothing, so the answer is `[]`; the polled deployments become `READY` with
    `last_polled` set and `updated` untouched, as in Prefect."""

    @extend_schema(
        summary="Get Scheduled Flow Runs For Deployments",
        request=json_body(requests.ScheduledFlowRunsPoll),
        responses={
            200: ok({"type": "array", "items": {}, "maxItems": 0}, "Always empty"),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        poll = required_body(request, requests.ScheduledFlowRunsPoll)
        deployments.deployments_polled(
            deployment_ids=poll.deployment_ids, context=write_context(request)
        )
        return Response([])
