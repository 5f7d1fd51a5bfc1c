"""What the catalog does not keep, answered as Prefect's server answers from an empty
database: flow runs, task runs, block documents and types, artifacts, automations and
tag (v1) concurrency limits. The filter routes list `[]`, the count routes `0`, the
paginate routes an empty page, and a read by id or name is Prefect's 404; each body is
checked first, as Prefect checks it. None of these routes writes: creating a tag
concurrency limit (`prefect concurrency-limit create`) is refused with a 403 that says
what to use instead.

Prefect's server registers its built-in block types at startup; the catalog lists none
(README, "Where the catalog deliberately differs")."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from pydantic import BaseModel
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import empty_store_filters as bodies
from catalog.api import request_models as requests
from catalog.api import response_models as responses
from catalog.api.openapi import INVALID_BODY, error, json_body, ok, path_parameter, returns
from catalog.api.views.base import FilterRouteView, PrefectAPIView
from catalog.rendering.serializers import page_of

NONE_KEPT = ok({"type": "array", "items": {}, "maxItems": 0}, "Always empty")
NO_COUNT = ok({"type": "integer", "const": 0}, "Always 0")
EMPTY_PAGE = ok(
    {
        "type": "object",
        "properties": {
            "results": {"type": "array", "items": {}, "maxItems": 0},
            "count": {"type": "integer", "const": 0},
            "limit": {"type": "integer"},
            "pages": {"type": "integer", "const": 0},
            "page": {"type": "integer"},
        },
        "required": ["results", "count", "limit", "pages", "page"],
    },
    "Always an empty page",
)
INCLUDE_SECRETS = OpenApiParameter(
    "include_secrets",
    OpenApiTypes.BOOL,
    OpenApiParameter.QUERY,
    description="Whether to include sensitive values in the block document.",
    default=False,
)


def filter_route(summary: str, body: type[BaseModel], answer: OpenApiResponse) -> dict:
    return {
        "post": extend_schema(
            summary=summary,
            request=json_body(body, required=False),
            responses={200: answer, 422: INVALID_BODY},
        )
    }


class EmptyListView(FilterRouteView):
    """A filter route of something the catalog does not keep: `[]` once the body is read."""

    def answer(self, query, limit: int | None, **route) -> Response:
        return Response([])


class ZeroCountView(FilterRouteView):
    """A count route of something the catalog does not keep: `0` once the body is read."""

    reads_limit = False

    def answer(self, query, limit: None, **route) -> Response:
        return Response(0)


class EmptyPageView(FilterRouteView):
    """A paginate route of something the catalog does not keep: an empty page."""

    def answer(self, query, limit: int, **route) -> Response:
        return Response(page_of([], 0, limit, query.page))


def list_view(summary: str, body: type[BaseModel], answer=NONE_KEPT) -> type[EmptyListView]:
    view = type(summary.replace(" ", "") + "View", (EmptyListView,), {"body_model": body})
    return extend_schema_view(**filter_route(summary, body, answer))(view)


def count_view(summary: str, body: type[BaseModel]) -> type[ZeroCountView]:
    view = type(summary.replace(" ", "") + "View", (ZeroCountView,), {"body_model": body})
    return extend_schema_view(**filter_route(summary, body, NO_COUNT))(view)


def page_view(summary: str, body: type[BaseModel]) -> type[EmptyPageView]:
    view = type(summary.replace(" ", "") + "View", (EmptyPageView,), {"body_model": body})
    return extend_schema_view(**filter_route(summary, body, EMPTY_PAGE))(view)


FlowRunFilterView = list_view("Read Flow Runs", bodies.FlowRunsFilterBody)
FlowRunCountView = count_view("Count Flow Runs", bodies.FlowRunsQuery)
FlowRunPaginateView = page_view("Paginate Flow Runs", bodies.FlowRunsPageBody)
TaskRunFilterView = list_view("Read Task Runs", bodies.TaskRunsFilterBody)
TaskRunCountView = count_view("Count Task Runs", bodies.TaskRunsQuery)
TaskRunPaginateView = page_view("Paginate Task Runs", bodies.TaskRunsPageBody)
BlockDocumentFilterView = list_view("Read Block Documents", bodies.BlockDocumentsFilterBody)
BlockDocumentCountView = count_view("Count Block Documents", bodies.BlockDocumentsQuery)
# Prefect's list is its built-in block types; the catalog keeps none.
BlockTypeFilterView = list_view(
    "Read Block Types", bodies.BlockTypesFilterBody, ok({"type": "array", "items": {}})
)
ArtifactFilterView = list_view("Read Artifacts", bodies.ArtifactsFilterBody)
LatestArtifactFilterView = list_view("Read Latest Artifacts", bodies.ArtifactsFilterBody)
ArtifactCountView = count_view("Count Artifacts", bodies.ArtifactsQuery)
LatestArtifactCountView = count_view("Count Latest Artifacts", bodies.ArtifactsQuery)
AutomationFilterView = list_view("Read Automations", bodies.AutomationsFilterBody)
AutomationCountView = count_view("Count Automations", bodies.AutomationsQuery)
TagLimitFilterView = list_view("Read Concurrency Limits", bodies.TagLimitsFilterBody)


class MissingView(PrefectAPIView):
    """A read of one thing the catalog does not keep: Prefect's 404 for a missing one."""

    body: dict

    def get(self, request: Request, **route) -> Response:
        return Response(self.body, status=404)


def missing_view(
    summary: str, message: str, *parameters, body_key: str = "detail", tags=None
) -> type[MissingView]:
    """The view of `GET` of one thing, always missing, with Prefect's 404 body."""
    answer = error(message)
    if body_key != "detail":
        # The route's own not-found body, or, for a path that is no UUID, the `detail`
        # of a path no route matches.
        either = [returns(responses.ObjectNotFound), returns(responses.HTTPError)]
        answer = ok({"anyOf": either}, f"{message}, or no such route")
    schema = extend_schema(
        summary=summary, parameters=list(parameters), responses={404: answer}, tags=tags
    )
    view = type(summary.replace(" ", "") + "View", (MissingView,), {"body": {body_key: message}})
    return extend_schema_view(get=schema)(view)


def uuid_parameter(description: str | None) -> OpenApiParameter:
    if description is None:
        return OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
    return path_parameter("id", description, OpenApiTypes.UUID)


FlowRunDetailView = missing_view(
    "Read Flow Run", "Flow run not found", uuid_parameter("The flow run id")
)
TaskRunDetailView = missing_view(
    "Read Task Run", "Task not found", uuid_parameter("The task run id")
)
BlockDocumentDetailView = missing_view(
    "Read Block Document By Id",
    "Block document not found",
    uuid_parameter("The block document id"),
    INCLUDE_SECRETS,
)
BlockDocumentByNameView = missing_view(
    "Read Block Document By Name For Block Type",
    "Block document not found",
    path_parameter("slug", "The block type name"),
    path_parameter("block_document_name", "The block type name"),
    INCLUDE_SECRETS,
    # As Prefect's schema lists them: the router's tag twice, then the route's own.
    tags=["Block types", "Block types", "Block documents"],
)
ArtifactDetailView = missing_view(
    "Read Artifact", "Artifact not found.", uuid_parameter("The ID of the artifact to retrieve.")
)
AutomationDetailView = missing_view(
    "Read Automation", "Automation not found", uuid_parameter(None), body_key="exception_message"
)
TagLimitDetailView = missing_view(
    "Read Concurrency Limit",
    "Concurrency limit not found",
    uuid_parameter("The concurrency limit id"),
)
TagLimitByTagView = missing_view(
    "Read Concurrency Limit By Tag",
    "Concurrency limit not found",
    path_parameter("tag", "The tag name"),
)

NO_TAG_LIMITS = (
    "This catalog keeps no tag concurrency limits: limit a deployment with its "
    "`concurrency_limit`, or share a global concurrency limit "
    "(`prefect global-concurrency-limit create`)."
)


class TagLimitCreateView(PrefectAPIView):
    """`POST /api/concurrency_limits/`: refused with 403 and what to use instead; the body
    is not read."""

    @extend_schema(
        summary="Create Concurrency Limit",
        request=json_body(requests.UnreadBody),
        responses={403: error(NO_TAG_LIMITS)},
    )
    def post(self, request: Request) -> Response:
        return Response({"detail": NO_TAG_LIMITS}, status=403)
