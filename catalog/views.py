"""The API's views. Each docstring lists its routes, parameters and status codes."""

import uuid

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.errors import NOT_FOUND, RequestValidationError, detail_response
from catalog.models import Deployment
from catalog.serializers import DeploymentSerializer


class PrefectAPIView(APIView):
    """An API view without DRF's OPTIONS handler, which Prefect's routes do not have."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head"]


def get_or_404(queryset, message: str, **lookup):
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound(message) from None


class DeploymentDetailView(PrefectAPIView):
    """`GET /api/deployments/{id}`: 200 with the deployment; 404 `Deployment not found`.

    The id may be upper-case or written without hyphens, as Prefect accepts it.
    """

    def get(self, request: Request, id: uuid.UUID) -> Response:
        deployment = get_or_404(Deployment.objects.with_related(), "Deployment not found", id=id)
        return Response(DeploymentSerializer(deployment).data)


class HealthView(PrefectAPIView):
    """`GET /api/health`: 200 `true` while the process serves requests."""

    def get(self, request: Request) -> Response:
        return Response(True)


class ReadyView(PrefectAPIView):
    """`GET /api/ready`: 200 `{"message":"OK"}`; 503 when the database cannot be reached."""

    def get(self, request: Request) -> Response:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return Response({"message": "Database is not available"}, status=503)
        return Response({"message": "OK"})


class ApiVersionView(PrefectAPIView):
    """`GET /api/version`: the Prefect REST API version this server speaks."""

    def get(self, request: Request) -> Response:
        return Response(settings.PREFECT_API_VERSION)


class ServerVersionView(PrefectAPIView):
    """`GET /api/admin/version`: the Prefect server version (the client checks its major)."""

    def get(self, request: Request) -> Response:
        return Response(settings.PREFECT_VERSION)


class HelloView(PrefectAPIView):
    """`GET /api/hello`: 200 `"👋"`."""

    def get(self, request: Request) -> Response:
        return Response("👋")


class CsrfTokenView(PrefectAPIView):
    """`GET /api/csrf-token?client=…`: 422 `CSRF protection is disabled.`, as Prefect's
    default server answers; the Prefect client then stops asking for tokens."""

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
