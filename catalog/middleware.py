"""Behaviour Prefect's server applies to every API route, before and after the view."""

import logging

from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

from catalog.errors import (
    INTEGRITY_CONFLICT,
    detail_response,
    is_api_request,
    json_response,
    server_error_response,
)

logger = logging.getLogger("catalog.api")

# Prefect mounts these outside the routers that check the client's API version.
ROUTES_WITHOUT_VERSION_CHECK = {"health", "version", "api-not-found"}


def parse_version(text: str) -> tuple[int, int, int] | None:
    try:
        major, minor, patch = (int(part) for part in text.split("."))
    except ValueError:
        return None
    return major, minor, patch


def api_version_problem(header: str) -> str | None:
    """Prefect's answer to an `X-PREFECT-API-VERSION` header it cannot serve, if any."""
    requested = parse_version(header)
    if requested is None:
        return (
            "Invalid X-PREFECT-API-VERSION header format."
            f"Expected header in format 'x.y.z' but received {header}"
        )
    minimum = settings.PREFECT_MINIMUM_API_VERSION
    if requested < parse_version(minimum):
        return (
            f"The request specified API version {header} but this "
            f"server requires version {minimum} or higher."
        )
    return None


class PrefectApiMiddleware:
    """Checks the client's API version on matched API routes and answers any unhandled
    API error with Prefect's JSON 500 body instead of an HTML page."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not is_api_request(request):
            return None
        if request.resolver_match.url_name in ROUTES_WITHOUT_VERSION_CHECK:
            return None
        header = request.headers.get("X-Prefect-Api-Version")
        problem = api_version_problem(header) if header else None
        return detail_response(problem, 400) if problem else None

    def process_exception(self, request: HttpRequest, exception: Exception):
        """Database errors get Prefect's answers to them; anything else is a JSON 500."""
        if not is_api_request(request):
            return None
        if isinstance(exception, IntegrityError):
            return detail_response(INTEGRITY_CONFLICT, 409)
        if isinstance(exception, DataError):
            return detail_response(f"The database refused a value: {exception}".strip(), 422)
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning(
                "Database unavailable on %s %s: %s", request.method, request.path, exception
            )
            return json_response({"exception_message": "Service Unavailable"}, 503)
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return server_error_response()
