"""Service routes, answered as Prefect answers them: health, readiness, versions, and the
answer to any unknown `/api/` path."""

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import response_models as responses
from catalog.api.errors import NOT_FOUND, RequestValidationError, detail_response
from catalog.api.openapi import ok, returns
from catalog.api.views.base import PrefectAPIView


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
