"""Error bodies in Prefect's shapes, for DRF views and for plain Django views alike.

- `{"detail": …}` for HTTP errors raised by route code (404, 405, 409, 400);
- `{"exception_message": "Invalid request received.", "exception_detail": […],
  "request_body": …}` for request validation (422);
- `{"exception_message": "Internal Server Error"}` for anything unhandled (500).
"""

import logging

from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from catalog.rendering.jsontext import dumps

logger = logging.getLogger(__name__)

NOT_FOUND = "Not Found"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INTERNAL_SERVER_ERROR = "Internal Server Error"
INTEGRITY_CONFLICT = (
    "Data integrity conflict. This usually means a unique or foreign key constraint was "
    "violated. See server logs for details."
)


def json_response(data, status_code: int, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(
        dumps(data), status=status_code, content_type="application/json", headers=headers
    )


def detail_response(message: str, status_code: int, headers: dict | None = None) -> HttpResponse:
    return json_response({"detail": message}, status_code, headers)


def server_error_response() -> HttpResponse:
    return json_response({"exception_message": INTERNAL_SERVER_ERROR}, 500)


class RequestValidationError(exceptions.APIException):
    """A 422 listing pydantic-style errors (`type`, `loc`, `msg`, `input`, `ctx`)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors: list[dict], request_body=None) -> None:
        super().__init__("Invalid request received.")
        self.errors = errors
        self.request_body = request_body


class ApiError(exceptions.APIException):
    """An error a route answers with Prefect's `{"detail": …}` body and its own status."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code


def validation_body(exc: RequestValidationError) -> dict:
    return {
        "exception_message": "Invalid request received.",
        "exception_detail": exc.errors,
        "request_body": exc.request_body,
    }


def prefect_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, answering with Prefect's bodies."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    if isinstance(exc, RequestValidationError):
        set_rollback()
        return Response(validation_body(exc), status=exc.status_code)
    if isinstance(exc, exceptions.MethodNotAllowed):
        view = context["view"]
        allowed = ", ".join(m for m in view.allowed_methods if m not in {"OPTIONS", "HEAD"})
        return Response({"detail": METHOD_NOT_ALLOWED}, status=405, headers={"Allow": allowed})
    if isinstance(exc, exceptions.APIException):
        set_rollback()
        challenge = getattr(exc, "auth_header", None)  # DRF sets it on a 401
        headers = {"WWW-Authenticate": challenge} if challenge else None
        return Response({"detail": str(exc.detail)}, status=exc.status_code, headers=headers)
    return None


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/") or request.path_info == "/api"


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_request(request):
        return detail_response(NOT_FOUND, 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_request(request):
        return server_error_response()
    return defaults.server_error(request)
