"""The API's views, one class per Prefect route. Each docstring lists its route, what it
answers and its errors; the rules themselves live in `catalog.services.core`."""

import uuid

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from pydantic import RootModel
from rest_framework import exceptions, generics
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import filters
from catalog.api import request_models as actions
from catalog.api import response_models as responses
from catalog.api.bodies import check_limit, optional_object_body, raw_json, required_body, validated
from catalog.api.errors import NOT_FOUND, ApiError, RequestValidationError, detail_response
from catalog.api.openapi import (
    CONFLICT,
    DEPLOYMENT_ID,
    FLOW_ID,
    INVALID_BODY,
    LIMIT_ID_OR_NAME,
    NO_CONTENT,
    SCHEDULE_ID,
    WORK_POOL_NAME,
    WORK_POOL_NAME_IN_QUEUE_ROUTES,
    error,
    json_body,
    list_of,
    ok,
    path_parameter,
    returns,
)
from catalog.models import (
    ConcurrencyLimit,
    Deployment,
    DeploymentStatus,
    Flow,
    Variable,
    WorkPool,
)
from catalog.rendering import json_cache
from catalog.rendering.jsontext import dumps
from catalog.rendering.serializers import (
    ConcurrencyLimitSerializer,
    DeploymentConcurrencyLimitSerializer,
    DeploymentScheduleSerializer,
    DeploymentSerializer,
    FlowSerializer,
    VariableSerializer,
    WorkPoolSerializer,
    WorkQueueSerializer,
    page_of,
)
from catalog.services import core as services


class PrefectAPIView(APIView):
    """An API view without DRF's OPTIONS handler, which Prefect's routes do not have."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    # For a fixed path that a parameter route declared before it matches too (`/filter`
    # and `/{name}`), Starlette takes the parameter route for the methods the fixed one
    # lacks: `DELETE /v2/concurrency_limits/filter` deletes the limit named "filter".
    # Each entry: the parameter route's name, its view and its arguments.
    parameter_route: tuple[str, type["PrefectAPIView"], dict[str, str]] | None = None

    def dispatch(self, request, *args, **kwargs):
        if self.parameter_route and not self.handles(request.method.lower()):
            name, view_class, arguments = self.parameter_route
            view = view_class.as_view()
            # Permissions look routes up by name: this request is the parameter route's.
            request.resolver_match = ResolverMatch(view, (), arguments, url_name=name)
            return view(request, **arguments)
        return super().dispatch(request, *args, **kwargs)

    def handles(self, method: str) -> bool:
        """Whether DRF's dispatch would find this view a handler for `method`."""
        return method in self.http_method_names and hasattr(self, method)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 405 and getattr(self, "prefect_allow", None):
            # Starlette names only the methods of the first route declared for the path.
            response["Allow"] = self.prefect_allow
        elif response.status_code != 405 and response.has_header("Allow"):
            del response["Allow"]
        return response


def get_or_404(queryset, message: str, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound(message) from None


def no_content() -> Response:
    return Response(status=204)


def deployments_json(page) -> bytes:
    """A page of deployments (a sliced queryset) as a JSON array of their kept bodies."""
    return json_cache.json_array(
        json_cache.deployment_bodies(list(page.values_list("id", flat=True)))
    )


def json_response(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")


def deployment_response(request: Request, body: bytes | None) -> HttpResponse:
    """A deployment's JSON with its ETag, 304 when the client holds that very body."""
    if body is None:
        raise exceptions.NotFound(services.DEPLOYMENT_NOT_FOUND)
    etag = json_cache.etag_of(body)
    response = get_conditional_response(request, etag=etag) or json_response(body)
    response["ETag"] = etag
    return response


# Flows ---------------------------------------------------------------------------------


class FlowCreateView(PrefectAPIView):
    """`POST /api/flows/`: 201 with the new flow, or 200 with the existing flow of that
    name, unchanged; 422 for a bad body."""

    prefect_allow = "POST"

    @extend_schema(
        summary="Create Flow",
        request=json_body(actions.FlowCreate),
        responses={
            200: ok(returns(responses.Flow), "The flow of that name, which already existed"),
            201: ok(returns(responses.Flow), "The new flow"),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        flow, created = services.flow_create(required_body(request, actions.FlowCreate))
        return Response(FlowSerializer(flow).data, status=201 if created else 200)


class FlowDetailView(PrefectAPIView):
    """`GET`, `PATCH` (tags; 204) and `DELETE` (204, with its deployments)
    `/api/flows/{id}`; 404 `Flow not found`."""

    prefect_allow = "PATCH"

    @extend_schema(
        summary="Read Flow",
        parameters=[FLOW_ID],
        responses={200: ok(returns(responses.Flow)), 404: error("Flow not found")},
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        return Response(FlowSerializer(get_or_404(Flow.objects, "Flow not found", id=id)).data)

    @extend_schema(
        summary="Update Flow",
        parameters=[FLOW_ID],
        request=json_body(actions.FlowUpdate),
        responses={204: NO_CONTENT, 404: error("Flow not found"), 422: INVALID_BODY},
    )
    @transaction.atomic
    def patch(self, request: Request, id: uuid.UUID) -> Response:
        update = required_body(request, actions.FlowUpdate)
        services.flow_update(get_or_404(Flow.objects, "Flow not found", id=id), update)
        return no_content()

    @extend_schema(
        summary="Delete Flow",
        parameters=[FLOW_ID],
        responses={204: NO_CONTENT, 404: error("Flow not found")},
    )
    @transaction.atomic
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        get_or_404(Flow.objects, "Flow not found", id=id).delete()
        return no_content()


class FlowByNameView(PrefectAPIView):
    """`GET /api/flows/name/{name}`: the flow; 404 `Flow not found`."""

    @extend_schema(
        summary="Read Flow By Name",
        parameters=[path_parameter("name", "The name of the flow")],
        responses={200: ok(returns(responses.Flow)), 404: error("Flow not found")},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(FlowSerializer(get_or_404(Flow.objects, "Flow not found", name=name)).data)


class FlowFilterView(PrefectAPIView):
    """`POST /api/flows/filter`: flows matching Prefect's filter body, sorted and paged."""

    @extend_schema(
        summary="Read Flows",
        request=json_body(filters.FlowsFilterBody, required=False),
        responses={200: ok(list_of(responses.Flow)), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.FlowsFilterBody, body, echo=raw_json_or_none(request))
        flows = query.apply(Flow.objects.all()).order_by(*query.sort.order_by())
        page = flows[query.offset : query.offset + limit]
        return Response(FlowSerializer(page, many=True).data)


class FlowCountView(PrefectAPIView):
    """`POST /api/flows/count`: the number of matching flows, as a bare integer."""

    @extend_schema(
        summary="Count Flows",
        request=json_body(filters.FlowsQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        query = validated(filters.FlowsQuery, body, echo=raw_json_or_none(request))
        return Response(query.apply(Flow.objects.all()).count())


class FlowPaginateView(PrefectAPIView):
    """`POST /api/flows/paginate`: `{"results", "count", "limit", "pages", "page"}`."""

    @extend_schema(
        summary="Paginate Flows",
        request=json_body(filters.FlowsPageBody, required=False),
        responses={200: ok(returns(responses.FlowPaginationResponse)), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.FlowsPageBody, body, echo=raw_json_or_none(request))
        flows = query.apply(Flow.objects.all()).order_by(*query.sort.order_by())
        start = (query.page - 1) * limit
        results = FlowSerializer(flows[start : start + limit], many=True).data
        return Response(page_of(results, flows.count(), limit, query.page))


def raw_json_or_none(request: Request):
    data = raw_json(request)
    return data if isinstance(data, dict | list | str | int | float) else None


# Deployments ---------------------------------------------------------------------------


class DeploymentListPagination(LimitOffsetPagination):
    default_limit = 200
    max_limit = 200

    def get_paginated_response_schema(self, schema: dict) -> dict:
        """DRF's page schema, with the null links written as OpenAPI 3.1 writes them."""
        page = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            page["properties"][link] = {
                "anyOf": [{"type": "string", "format": "uri"}, {"type": "null"}]
            }
        return page


DEPLOYMENT = returns(responses.DeploymentResponse)
DEPLOYMENT_NOT_FOUND = error(services.DEPLOYMENT_NOT_FOUND)
DEPLOYMENT_NOT_FOUND_PERIOD = error(services.DEPLOYMENT_NOT_FOUND_PERIOD)


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

    serializer_class = DeploymentSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.DeploymentFilterSet
    pagination_class = DeploymentListPagination

    def get_queryset(self):
        return Deployment.objects.with_related().order_by("name", "id")

    @extend_schema(
        summary="Create Deployment",
        request=json_body(actions.DeploymentCreate),
        responses={
            200: ok(DEPLOYMENT, "The deployment of that flow and name, updated"),
            201: ok(DEPLOYMENT, "The new deployment"),
            404: error("An unknown work pool or global concurrency limit"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def post(self, request: Request) -> Response:
        """`POST /api/deployments/`: create, or update the deployment of the same flow and
        name (201 created, 200 updated); 404 for an unknown work pool or concurrency limit;
        409 for an unknown flow; 422 for a bad body."""
        data = required_body(request, actions.DeploymentCreate)
        deployment, created = services.deployment_upsert(data)
        deployment = Deployment.objects.with_related().get(id=deployment.id)
        return Response(DeploymentSerializer(deployment).data, status=201 if created else 200)

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
        request=json_body(actions.DeploymentUpdate),
        responses={
            204: NO_CONTENT,
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def patch(self, request: Request, id: uuid.UUID) -> Response:
        services.deployment_update(id, required_body(request, actions.DeploymentUpdate))
        return no_content()

    @extend_schema(
        summary="Delete Deployment",
        parameters=[DEPLOYMENT_ID],
        responses={204: NO_CONTENT, 404: DEPLOYMENT_NOT_FOUND},
    )
    @transaction.atomic
    def delete(self, request: Request, id: uuid.UUID) -> Response:
        services.deployment_delete(id)
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
        named = Deployment.objects.filter(flow__name=flow_name, name=deployment_name)
        id = named.values_list("id", flat=True).first()
        return deployment_response(request, id and json_cache.deployment_body(id))


class DeploymentFilterView(PrefectAPIView):
    """`POST /api/deployments/filter`: deployments matching Prefect's filter body, in two
    queries whatever the number of deployments and schedules."""

    @extend_schema(
        summary="Read Deployments",
        request=json_body(filters.DeploymentsFilterBody, required=False),
        responses={200: ok(list_of(responses.DeploymentResponse)), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.DeploymentsFilterBody, body, echo=raw_json_or_none(request))
        matching = query.apply(Deployment.objects.all()).order_by(*query.sort.order_by())
        return json_response(deployments_json(matching[query.offset : query.offset + limit]))


class DeploymentCountView(PrefectAPIView):
    """`POST /api/deployments/count`: the number of matching deployments."""

    @extend_schema(
        summary="Count Deployments",
        request=json_body(filters.DeploymentsQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        query = validated(filters.DeploymentsQuery, body, echo=raw_json_or_none(request))
        return Response(query.apply(Deployment.objects.all()).count())


class DeploymentPaginateView(PrefectAPIView):
    """`POST /api/deployments/paginate`: a page with `count`, `limit`, `pages`, `page`."""

    @extend_schema(
        summary="Paginate Deployments",
        request=json_body(filters.DeploymentsPageBody, required=False),
        responses={
            200: ok(returns(responses.DeploymentPaginationResponse)),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.DeploymentsPageBody, body, echo=raw_json_or_none(request))
        matching = query.apply(Deployment.objects.all())
        start = (query.page - 1) * limit
        ordered = matching.order_by(*query.sort.order_by())[start : start + limit]
        envelope = dumps(page_of([], matching.count(), limit, query.page))
        # `results` leads Prefect's envelope: the kept bodies go in place of its `[]`.
        return json_response(
            b'{"results":' + deployments_json(ordered) + envelope[len(b'{"results":[]') :]
        )


class DeploymentBulkDeleteView(PrefectAPIView):
    """`POST /api/deployments/bulk_delete`: deletes up to `limit` (1 to 50) matching
    deployments; 200 `{"deleted": [ids]}`."""

    @extend_schema(
        summary="Bulk Delete Deployments",
        request=json_body(filters.DeploymentsBulkDeleteBody, required=False),
        responses={
            200: ok(returns(responses.DeploymentBulkDeleteResponse)),
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        query = validated(filters.DeploymentsBulkDeleteBody, body, echo=raw_json_or_none(request))
        matching = Deployment.objects.all()
        if query.deployments is not None:
            matching = matching.filter(query.deployments.as_q())
        chosen = matching.order_by(*filters.DeploymentSort.NAME_ASC.order_by())[: query.limit]
        deleted = services.deployments_delete(chosen)
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
        services.deployment_set_paused(id, self.paused)
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
        request=json_body(actions.ScheduledFlowRunsPoll),
        responses={
            200: ok({"type": "array", "items": {}, "maxItems": 0}, "Always empty"),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        poll = required_body(request, actions.ScheduledFlowRunsPoll)
        Deployment.objects.filter(id__in=poll.deployment_ids).update(
            status=DeploymentStatus.READY, last_polled=timezone.now()
        )
        return Response([])


# Schedules -----------------------------------------------------------------------------


class ScheduleList(RootModel[list[actions.DeploymentScheduleCreate]]):
    """The schedules to create."""


class DeploymentSchedulesView(PrefectAPIView):
    """`GET /api/deployments/{id}/schedules`: newest first. `POST` a list of schedules:
    201 with them in request order; 409 for a slug already used. 404 `Deployment not
    found.`"""

    prefect_allow = "GET"

    @extend_schema(
        summary="Read Deployment Schedules",
        parameters=[DEPLOYMENT_ID],
        responses={
            200: ok(list_of(responses.DeploymentSchedule)),
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
        },
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        deployment = get_or_404(Deployment.objects, services.DEPLOYMENT_NOT_FOUND_PERIOD, id=id)
        schedules = deployment.schedules.order_by("-updated")
        return Response(DeploymentScheduleSerializer(schedules, many=True).data)

    @extend_schema(
        summary="Create Deployment Schedules",
        parameters=[DEPLOYMENT_ID],
        request=json_body(ScheduleList),
        responses={
            201: ok(list_of(responses.DeploymentSchedule), "The new schedules"),
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def post(self, request: Request, id: uuid.UUID) -> Response:
        entries = required_body(request, ScheduleList)
        deployment = services.deployment_for_update(id, services.DEPLOYMENT_NOT_FOUND_PERIOD)
        created = services.schedules_create(deployment, entries.root)
        return Response(DeploymentScheduleSerializer(created, many=True).data, status=201)


class DeploymentScheduleDetailView(PrefectAPIView):
    """`PATCH` (204) and `DELETE` (204) `/api/deployments/{id}/schedules/{schedule_id}`;
    404 `Deployment not found.` or `Schedule not found.`; 409 for a slug already used."""

    prefect_allow = "PATCH"

    @extend_schema(
        summary="Update Deployment Schedule",
        parameters=[DEPLOYMENT_ID, SCHEDULE_ID],
        request=json_body(actions.DeploymentScheduleUpdate),
        responses={
            204: NO_CONTENT,
            404: error("Deployment not found. or Schedule not found."),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def patch(self, request: Request, id: uuid.UUID, schedule_id: uuid.UUID) -> Response:
        update = required_body(request, actions.DeploymentScheduleUpdate)
        deployment = services.deployment_for_update(id, services.DEPLOYMENT_NOT_FOUND_PERIOD)
        services.schedule_update(deployment, schedule_id, update)
        return no_content()

    @extend_schema(
        summary="Delete Deployment Schedule",
        parameters=[DEPLOYMENT_ID, SCHEDULE_ID],
        responses={204: NO_CONTENT, 404: error("Deployment not found. or Schedule not found.")},
    )
    @transaction.atomic
    def delete(self, request: Request, id: uuid.UUID, schedule_id: uuid.UUID) -> Response:
        deployment = services.deployment_for_update(id, services.DEPLOYMENT_NOT_FOUND_PERIOD)
        services.schedule_delete(deployment, schedule_id)
        return no_content()


# Global concurrency limits -------------------------------------------------------------


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
        request=json_body(actions.ConcurrencyLimitV2Create),
        responses={
            201: ok(returns(responses.ConcurrencyLimitV2), "The new limit"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def post(self, request: Request) -> Response:
        limit = services.concurrency_limit_create(
            required_body(request, actions.ConcurrencyLimitV2Create)
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
        request=json_body(actions.ConcurrencyLimitV2Update),
        responses={204: NO_CONTENT, 404: LIMIT_NOT_FOUND, 409: CONFLICT, 422: INVALID_BODY},
    )
    @transaction.atomic
    def patch(self, request: Request, id_or_name: str) -> Response:
        update = required_body(request, actions.ConcurrencyLimitV2Update)
        services.concurrency_limit_update(limit_by_id_or_name(id_or_name), update)
        return no_content()

    @extend_schema(
        summary="Delete Concurrency Limit V2",
        parameters=[LIMIT_ID_OR_NAME],
        responses={204: NO_CONTENT, 404: LIMIT_NOT_FOUND},
    )
    @transaction.atomic
    def delete(self, request: Request, id_or_name: str) -> Response:
        limit_by_id_or_name(id_or_name).delete()
        return no_content()


class ConcurrencyLimitFilterView(PrefectAPIView):
    """`POST /api/v2/concurrency_limits/filter`: limits by name, paged."""

    parameter_route = (
        "concurrency-limit-detail",
        ConcurrencyLimitDetailView,
        {"id_or_name": "filter"},
    )

    @extend_schema(
        summary="Read All Concurrency Limits V2",
        request=json_body(filters.OffsetBody, required=False),
        responses={
            200: ok(list_of(responses.GlobalConcurrencyLimitResponse)),
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        paging = validated(filters.OffsetBody, body, echo=raw_json_or_none(request))
        limits = ConcurrencyLimit.objects.order_by("name")[paging.offset : paging.offset + limit]
        return Response(DeploymentConcurrencyLimitSerializer(limits, many=True).data)


# Work pools and queues -----------------------------------------------------------------


WORK_POOL_NOT_FOUND = error('Work pool "{name}" not found.')


def work_pool_or_404(name: str) -> WorkPool:
    pool = WorkPool.objects.select_related("default_queue").filter(name=name).first()
    if pool is None:
        raise ApiError(404, f'Work pool "{name}" not found.')
    return pool


class WorkPoolCreateView(PrefectAPIView):
    """`POST /api/work_pools/`: 201 with the pool and its default queue; 403 for a
    name starting with "prefect"; 409 for a taken name."""

    @extend_schema(
        summary="Create Work Pool",
        request=json_body(actions.WorkPoolCreate),
        responses={
            201: ok(returns(responses.WorkPoolResponse), "The new work pool"),
            403: error("Work pools starting with 'Prefect' are reserved for internal use."),
            409: error("A work pool with this name already exists."),
            422: INVALID_BODY,
        },
    )
    @transaction.atomic
    def post(self, request: Request) -> Response:
        new_pool = required_body(request, actions.WorkPoolCreate)
        if new_pool.name.lower().startswith("prefect"):
            raise ApiError(403, "Work pools starting with 'Prefect' are reserved for internal use.")
        if WorkPool.objects.filter(name=new_pool.name).exists():
            raise ApiError(409, "A work pool with this name already exists.")
        WorkPool.objects.create(**new_pool.model_dump())
        pool = services.work_pool_ensure(new_pool.name)
        return Response(WorkPoolSerializer(pool).data, status=201)


class WorkPoolDetailView(PrefectAPIView):
    """`GET /api/work_pools/{name}`; 404 `Work pool "{name}" not found.`"""

    @extend_schema(
        summary="Read Work Pool",
        parameters=[WORK_POOL_NAME],
        responses={200: ok(returns(responses.WorkPoolResponse)), 404: WORK_POOL_NOT_FOUND},
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(WorkPoolSerializer(work_pool_or_404(name)).data)


class WorkPoolFilterView(PrefectAPIView):
    """`POST /api/work_pools/filter`: pools matching a `work_pools` filter, by name."""

    parameter_route = ("work-pool-detail", WorkPoolDetailView, {"name": "filter"})

    @extend_schema(
        summary="Read Work Pools",
        request=json_body(filters.WorkPoolsFilterBody, required=False),
        responses={200: ok(list_of(responses.WorkPoolResponse)), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.WorkPoolsFilterBody, body, echo=raw_json_or_none(request))
        pools = WorkPool.objects.order_by("name")
        if query.work_pools is not None:
            pools = pools.filter(query.work_pools.as_q())
        page = pools[query.offset : query.offset + limit]
        return Response(WorkPoolSerializer(page, many=True).data)


class WorkQueueFilterView(PrefectAPIView):
    """`POST /api/work_pools/{work_pool_name}/queues/filter`: the pool's queues, by
    priority; 404 `Work pool "{name}" not found.`"""

    @extend_schema(
        summary="Read Work Queues",
        parameters=[WORK_POOL_NAME_IN_QUEUE_ROUTES],
        request=json_body(filters.WorkQueuesFilterBody, required=False),
        responses={
            200: ok(list_of(responses.WorkQueueResponse)),
            404: WORK_POOL_NOT_FOUND,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request, work_pool_name: str) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.WorkQueuesFilterBody, body, echo=raw_json_or_none(request))
        queues = work_pool_or_404(work_pool_name).queues.select_related("work_pool")
        if query.work_queues is not None:
            queues = queues.filter(query.work_queues.as_q())
        page = queues.order_by("priority", "name")[query.offset : query.offset + limit]
        return Response(WorkQueueSerializer(page, many=True).data)


# Service routes ------------------------------------------------------------------------


class ProbeView(PrefectAPIView):
    """A route for load balancers' probes: open to all, credentials or none, as in Prefect."""

    authentication_classes = []
    permission_classes = []


class HealthView(ProbeView):
    """`GET /api/health`: 200 `true` while the process serves requests."""

    @extend_schema(summary="Health Check", responses={200: ok(OpenApiTypes.BOOL)})
    def get(self, request: Request) -> Response:
        return Response(True)


class ReadyView(ProbeView):
    """`GET /api/ready`: 200 `{"message":"OK"}`; 503 when the database cannot be reached."""

    @extend_schema(
        summary="Perform Readiness Check",
        responses={
            200: ok(returns(responses.ReadyResponse)),
            503: ok(returns(responses.ReadyResponse), "The database cannot be reached"),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response({"message": "Database is not available"}, status=503)
        return Response({"message": "OK"})


class ApiVersionView(PrefectAPIView):
    """`GET /api/version`: the Prefect REST API version this server speaks."""

    @extend_schema(summary="Server Version", responses={200: ok(OpenApiTypes.STR)})
    def get(self, request: Request) -> Response:
        return Response(settings.PREFECT_API_VERSION)


class ServerVersionView(PrefectAPIView):
    """`GET /api/admin/version`: the Prefect server version (the client checks its major)."""

    @extend_schema(summary="Read Version", responses={200: ok(OpenApiTypes.STR)})
    def get(self, request: Request) -> Response:
        return Response(settings.PREFECT_VERSION)


class HelloView(PrefectAPIView):
    """`GET /api/hello`: 200 `"👋"`."""

    @extend_schema(summary="Hello", responses={200: ok(OpenApiTypes.STR)})
    def get(self, request: Request) -> Response:
        return Response("👋")


class CsrfTokenView(PrefectAPIView):
    """`GET /api/csrf-token?client=…`: 422 `CSRF protection is disabled.`, as Prefect's
    default server answers; the Prefect client then stops asking for tokens."""

    @extend_schema(
        summary="Create Csrf Token",
        parameters=[
            OpenApiParameter(
                "client",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="The client to create a CSRF token for",
            )
        ],
        responses={
            422: OpenApiResponse(
                {
                    "anyOf": [
                        returns(responses.HTTPError),
                        returns(responses.RequestValidationError),
                    ]
                },
                description="CSRF protection is disabled; or no `client` was given",
            )
        },
    )
    def get(self, request: Request) -> Response:
        if "client" not in request.query_params:
            missing = {"type": "missing", "loc": ["query", "client"], "msg": "Field required"}
            raise RequestValidationError([{**missing, "input": None}], request_body=None)
        return Response({"detail": "CSRF protection is disabled."}, status=422)


def toggled_slash(path: str) -> str:
    return path[:-1] if path.endswith("/") else f"{path}/"


@csrf_exempt
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """Any unknown `/api/` path: a 307 to the same route with the other trailing slash
    when that route exists (as Starlette redirects), else 404 `{"detail":"Not Found"}`."""
    alternative = toggled_slash(request.path_info)
    try:
        match = resolve(alternative)
    except Resolver404:
        match = None
    if match is None or match.url_name == "api-not-found":
        return detail_response(NOT_FOUND, 404)
    query = request.META.get("QUERY_STRING")
    location = request.build_absolute_uri(f"{alternative}?{query}" if query else alternative)
    return HttpResponseRedirect(location, status=307)


# Variables -----------------------------------------------------------------------------


VARIABLE_NOT_FOUND = error(services.VARIABLE_NOT_FOUND)


def variable_or_404(**lookup) -> Variable:
    return get_or_404(Variable.objects, services.VARIABLE_NOT_FOUND, **lookup)


class VariableCreateView(PrefectAPIView):
    """`POST /api/variables/`: 201 with the variable; 409 `A variable with the name '…'
    already exists.`; 422 for a bad body (name rules, a value over 5,000 bytes)."""

    prefect_allow = "POST"

    @extend_schema(
        summary="Create Variable",
        request=json_body(actions.VariableCreate),
        responses={
            201: ok(returns(responses.Variable), "The new variable"),
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request) -> Response:
        variable = services.variable_create(required_body(request, actions.VariableCreate))
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
        request=json_body(actions.VariableUpdate),
        responses={204: NO_CONTENT, 404: VARIABLE_NOT_FOUND, 409: CONFLICT, 422: INVALID_BODY},
    )
    @transaction.atomic
    def patch(self, request: Request, **lookup) -> Response:
        update = required_body(request, actions.VariableUpdate)
        services.variable_update(variable_or_404(**lookup), update)
        return no_content()

    @extend_schema(
        summary="Delete Variable",
        responses={204: NO_CONTENT, 404: VARIABLE_NOT_FOUND},
    )
    @transaction.atomic
    def delete(self, request: Request, **lookup) -> Response:
        variable_or_404(**lookup).delete()
        return no_content()


@extend_schema_view(
    get=extend_schema(summary="Read Variable By Name"),
    patch=extend_schema(summary="Update Variable By Name"),
    delete=extend_schema(summary="Delete Variable By Name"),
)
class VariableByNameView(VariableDetailView):
    """`GET`, `PATCH` (204) and `DELETE` (204) `/api/variables/name/{name}`, as
    `/api/variables/{id}` answers them."""


class VariableFilterView(PrefectAPIView):
    """`POST /api/variables/filter`: variables matching a `variables` filter, sorted
    (`NAME_ASC` by default) and paged by `limit` (≤ 200) and `offset`."""

    @extend_schema(
        summary="Read Variables",
        request=json_body(filters.VariablesFilterBody, required=False),
        responses={200: ok(list_of(responses.Variable)), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        limit = check_limit(body)
        query = validated(filters.VariablesFilterBody, body, echo=raw_json_or_none(request))
        variables = query.apply(Variable.objects.all()).order_by(*query.sort.order_by())
        page = variables[query.offset : query.offset + limit]
        return Response(VariableSerializer(page, many=True).data)


class VariableCountView(PrefectAPIView):
    """`POST /api/variables/count`: the number of matching variables."""

    @extend_schema(
        summary="Count Variables",
        request=json_body(filters.VariablesQuery, required=False),
        responses={200: ok(OpenApiTypes.INT), 422: INVALID_BODY},
    )
    def post(self, request: Request) -> Response:
        body = optional_object_body(request)
        query = validated(filters.VariablesQuery, body, echo=raw_json_or_none(request))
        return Response(query.apply(Variable.objects.all()).count())
