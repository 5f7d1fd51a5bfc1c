"""Error bodies in Prefect's shapes, for DRF views and for plain Django views alike.

- `{"detail": …}` for HTTP errors raised by route code (404, 405, 409, 400);
- `{"exception_message": "Invalid request received.", "exception_detail": […],
  "request_body": …}` for request validation (422);
- `{"exception_message": "Internal Server Error"}` for anything unhandled (500);
- `{"exception_message": "Service Unavailable"}` when the database is out of reach or the
  request ran past its deadline (503), as Prefect answers errors a client may retry.

Pages outside the API get Django's plain pages, and a plain 503 page; none shows a
traceback or SQL.

The write core's domain errors (`catalog.services.errors`) become these bodies here:
`NotFound` a 404, `Conflict` a 409, `Invalid` a 422 naming each field in `loc`, or the
`{"detail": …}` answer Prefect gives for that rule (`PROBLEM_ANSWERS`).
"""

import logging
import math
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from catalog.api.deadline import ran_past_its_deadline
from catalog.rendering.jsontext import dumps
from catalog.rules.limits import BANNED_NAME_CHARACTERS
from catalog.rules.problems import Problem
from catalog.services.errors import CatalogError, Conflict, Invalid, NotFound

logger = logging.getLogger(__name__)

NOT_FOUND = "Not Found"
# Where `catalog.api.bodies` keeps the JSON body it parsed, for error answers to echo.
PARSED_BODY = "prefect_body"
METHOD_NOT_ALLOWED = "Method Not Allowed"
INTERNAL_SERVER_ERROR = "Internal Server Error"
SERVICE_UNAVAILABLE = "Service Unavailable"
SUSPICIOUS_REQUESTS = {TooManyFieldsSent: "Too many query parameters."}


def json_response(data, status_code: int, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(
        dumps(data), status=status_code, content_type="application/json", headers=headers
    )


def detail_response(message: str, status_code: int, headers: dict | None = None) -> HttpResponse:
    return json_response({"detail": message}, status_code, headers)


def server_error_response() -> HttpResponse:
    return json_response({"exception_message": INTERNAL_SERVER_ERROR}, 500)


def service_unavailable_response() -> HttpResponse:
    return json_response({"exception_message": SERVICE_UNAVAILABLE}, 503)


def deadline_response(request: HttpRequest, exception: BaseException) -> HttpResponse:
    """The answer to a request that ran past its deadline, logged: Prefect's 503 in the
    API, a plain page elsewhere."""
    seconds = settings.CATALOG_REQUEST_DEADLINE_SECONDS
    logger.warning(
        "Request deadline of %s s passed on %s %s: %s",
        seconds,
        request.method,
        request.path,
        exception,
    )
    if is_api_request(request):
        return service_unavailable_response()
    page = (
        f"<!doctype html><title>{SERVICE_UNAVAILABLE}</title><h1>{SERVICE_UNAVAILABLE}</h1>"
        f"<p>This page took longer than the {seconds} seconds the server gives a request. "
        "Try again, or ask for less (a filter, a shorter search).</p>"
    )
    return HttpResponse(page, status=503, content_type="text/html; charset=utf-8")


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
        "exception_detail": finite(exc.errors),
        "request_body": finite(exc.request_body),
    }


def finite(value):
    """A JSON value with NaN and infinities written as null, as orjson writes them: an
    error body echoes what was sent, and JSON text cannot hold them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [finite(item) for item in value]
    return value


# Domain errors ------------------------------------------------------------------------


def error_for_update(problem: Problem, request) -> tuple[int, str]:
    return 409, f"Error updating deployment: {problem.message}"


def error_for_job_variables(problem: Problem, request) -> tuple[int, str]:
    verb = "creating" if request.method == "POST" else "updating"
    return 422, f"Error {verb} deployment: {problem.message}"


def as_detail(status: int) -> Callable[[Problem, object], tuple[int, str]]:
    return lambda problem, request: (status, problem.message)


def deployment_name_error(problem: Problem, request) -> tuple[int, str] | None:
    """Prefect's answer for a deployment's own name; other names (a work queue's) get
    the 422 naming their field."""
    if tuple(problem.path) != ("name",):
        return None
    name = body_value(request, problem.path)
    return 422, (f"Deployment names may not contain any of {BANNED_NAME_CHARACTERS!r}: {name!r}")


# The rules Prefect answers with `{"detail": …}` (or where Prefect's own server fails and
# the catalog answers in that shape); any other broken rule is a 422 naming its field.
PROBLEM_ANSWERS: dict[str, Callable[[Problem, object], tuple[int, str] | None]] = {
    "parameters_off_schema": error_for_update,
    "no_parameter_schema": error_for_update,
    "job_variables_off_schema": error_for_job_variables,
    "circular_schema": as_detail(422),
    "schedule_slugs": as_detail(422),
    "reserved_name": as_detail(403),
}


def domain_error_response(exc: CatalogError, context: dict) -> Response:
    view, request = context.get("view"), context["request"]
    if isinstance(exc, NotFound):
        messages = getattr(view, "not_found_messages", {})
        return Response({"detail": messages.get(exc.resource, exc.message)}, status=404)
    if isinstance(exc, Invalid):
        answers = {**PROBLEM_ANSWERS, **getattr(view, "problem_answers", {})}
        answer = answers.get(exc.first.code)
        given = answer(exc.first, request) if answer is not None else None
        if given is not None:
            status_code, detail = given
            return Response({"detail": detail}, status=status_code)
        body = body_of(request)
        errors = [problem_error(problem, body) for problem in exc.problems]
        return Response(validation_body(RequestValidationError(errors, body)), status=422)
    status_code = 409 if isinstance(exc, Conflict) else 422
    return Response({"detail": exc.message}, status=status_code)


def problem_error(problem: Problem, body) -> dict:
    return {
        "type": problem.code,
        "loc": ["body", *problem.path],
        "msg": problem.message,
        "input": value_at(body, problem.path),
        "ctx": {"error": problem.message},
    }


def body_of(request):
    """The request's JSON body as the view read it (`catalog.api.bodies.raw_json`)."""
    return getattr(request, PARSED_BODY, None)


def body_value(request, path):
    return value_at(body_of(request), path)


def value_at(body, path):
    for part in path:
        if (isinstance(body, dict) and part in body) or (
            isinstance(body, list) and isinstance(part, int) and part < len(body)
        ):
            body = body[part]
        else:
            return None
    return body


def prefect_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, answering with Prefect's bodies."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    if isinstance(exc, SuspiciousOperation):
        # Too many query parameters, say: Django's own answer is a 400.
        exc = ApiError(400, SUSPICIOUS_REQUESTS.get(type(exc), "Bad Request"))
    if isinstance(exc, CatalogError):
        set_rollback()
        return domain_error_response(exc, context)
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
    """Django's handler500, for errors no middleware answered (one raised outside a view).
    A deadline that passed there still gets its 503: the timer's alarm can land after a
    statement it cancelled and before the middleware's hook stops the timer."""
    error = sys.exc_info()[1]
    if error is not None and ran_past_its_deadline(error):
        return deadline_response(request, error)
    if is_api_request(request):
        return server_error_response()
    return defaults.server_error(request)
