"""What happens to every request around the views: request ids and the request log, the
body size limit, read replica routing, the behaviour Prefect's server applies to every
API route, and the request deadline."""

import io
import ipaddress
import logging
import re
import time
import uuid
from contextlib import ExitStack

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import LimitedStream
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.functional import LazyObject, empty
from django.utils.html import format_html

from catalog import logs, routers
from catalog.api.auth import READS_SENT_AS_POST
from catalog.api.deadline import ran_past_its_deadline, request_deadline, stop_the_timer
from catalog.api.errors import (
    deadline_response,
    detail_response,
    is_api_request,
    server_error_response,
    service_unavailable_response,
)
from catalog.services.errors import INTEGRITY_CONFLICT, VALUE_REFUSED

logger = logging.getLogger("catalog.api")
request_logger = logging.getLogger("catalog.requests")

# Ids from a client or a proxy are kept when they are short and harmless in a log line.
USABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:;=/+@-]{1,200}")

# Set on a response to a request that wrote: the client reads from the primary until then.
READ_PRIMARY_COOKIE = "catalog_read_primary_until"


# Request ids and the request log --------------------------------------------------------


class RequestLogMiddleware:
    """Gives every request an id, from `X-Request-ID` when the client or the proxy sent a
    usable one, echoes it in the response's `X-Request-ID`, and logs one line a request to
    `catalog.requests`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = request_id_of(request)
        with logs.request_id_bound(request.request_id):
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            fields = request_log_fields(request, response, started)
            request_logger.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={"fields": fields},
            )
        return response


def request_id_of(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if USABLE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def request_log_fields(request: HttpRequest, response: HttpResponse, started: float) -> dict:
    return {
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "remote_addr": client_address(request),
        "user_id": user_id(request),
        "key_id": key_id(request),
        "bytes_out": response_size(response),
    }


def client_address(request: HttpRequest) -> str | None:
    """The address the first trusted proxy saw, or the peer's when no proxy is trusted;
    None when that is no IP address (a request that went around the proxies may say
    anything). The request log and django-axes' login throttle (AXES_CLIENT_IP_CALLABLE)
    both take it from here."""
    proxies = settings.CATALOG_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [address.strip() for address in forwarded.split(",") if address.strip()]
    if proxies and len(hops) >= proxies:
        address = hops[-proxies]
    else:
        address = request.META.get("REMOTE_ADDR", "")
    return address if is_ip_address(address) else None


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def user_id(request: HttpRequest):
    user = getattr(request, "user", None)
    # A session's user is loaded lazily; the log never costs a query of its own.
    if isinstance(user, LazyObject) and user._wrapped is empty:
        return None
    return user.pk if user is not None and user.is_authenticated else None


def key_id(request: HttpRequest):
    """The id of the API key DRF authenticated the request with (`request.auth`), if any;
    never the secret itself."""
    return getattr(getattr(request, "auth", None), "pk", None)


def response_size(response: HttpResponse) -> int | None:
    if not response.streaming:
        return len(response.content)
    length = response.get("Content-Length")
    return int(length) if length else None


# The body size limit -------------------------------------------------------------------


class RequestBodyLimitMiddleware:
    """Answers 413 to a body over `CATALOG_MAX_BODY_BYTES` before anything reads it. A body
    sent without a Content-Length (chunked) is read up to the limit and then handed on as
    if it had come with one."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        upload_page = is_upload_page(request)
        limit = upload_limit() if upload_page else settings.CATALOG_MAX_BODY_BYTES
        if body_size(request, limit) > limit:
            if upload_page:
                return upload_too_large_response(request)
            return detail_response(f"Request body too large: the limit is {limit} bytes.", 413)
        return self.get_response(request)


# The admin's import page takes a file of up to CATALOG_ADMIN_IMPORT_MAX_BYTES, and the
# body limit beside it for the rest of its form; its view says when the file is too large.
UPLOAD_PAGE = "admin:catalog_deployment_import"


def is_upload_page(request: HttpRequest) -> bool:
    if request.method != "POST":
        return False
    try:
        return request.path == reverse(UPLOAD_PAGE)
    except NoReverseMatch:
        return False


def upload_limit() -> int:
    return settings.CATALOG_ADMIN_IMPORT_MAX_BYTES + settings.CATALOG_MAX_BODY_BYTES


def upload_too_large_response(request: HttpRequest) -> HttpResponse:
    """Far past the page's limit: refused unread, as a page a person reads."""
    limit = settings.CATALOG_ADMIN_IMPORT_MAX_BYTES
    text = format_html(
        "<!doctype html><title>Upload too large</title><h1>Upload too large</h1>"
        "<p>The import page takes files of at most {} bytes "
        "(CATALOG_ADMIN_IMPORT_MAX_BYTES). Nothing was imported.</p>"
        '<p><a href="{}">Back to the import page</a></p>',
        f"{limit:,}",
        request.path,
    )
    return HttpResponse(text, status=413, content_type="text/html; charset=utf-8")


def body_size(request: HttpRequest, limit: int) -> int:
    """The body's size, reading at most `limit + 1` bytes of a body sent without a length."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared:
        return int(declared) if declared.isdigit() else 0
    if not sends_chunks(request):
        return 0
    body = request.META["wsgi.input"].read(limit + 1)
    request._stream = LimitedStream(io.BytesIO(body), len(body))
    request.META["CONTENT_LENGTH"] = str(len(body))
    return len(body)


def sends_chunks(request: HttpRequest) -> bool:
    """A chunked body on a WSGI server that ends the input stream with the body (gunicorn
    does); Django alone reads no body without a Content-Length."""
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked and bool(request.META.get("wsgi.input_terminated"))


# Read replicas -------------------------------------------------------------------------


class ReadReplicaMiddleware:
    """Lets the API's reads go to a read replica, and keeps a client that wrote reading from
    the primary for `CATALOG_REPLICA_PIN_SECONDS`, so it reads its own writes despite the
    replicas' lag (a cookie, which the Prefect client's httpx session keeps)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.CATALOG_READ_REPLICAS:
            return self.get_response(request)
        with routers.request_databases() as databases:
            response = self.answered_noting_broken_replicas(request, databases)
            if databases.replica_failed:
                response = self.answered_again_from_the_primary(request, databases)
        if databases.wrote:
            pin_to_primary(response)
        return response

    def answered_noting_broken_replicas(self, request, databases) -> HttpResponse:
        with ExitStack() as stack:
            for alias in routers.configured(settings.CATALOG_READ_REPLICAS):
                wrapper = routers.noting_a_broken_replica(alias, databases)
                stack.enter_context(connections[alias].execute_wrapper(wrapper))
            return self.get_response(request)

    def answered_again_from_the_primary(self, request, databases) -> HttpResponse:
        """A read whose replica broke under it is answered again: it wrote nothing, and
        its body (read before the first answer, see `process_view`) is read once more."""
        routers.take_out_of_service(databases.replica)
        databases.replica, databases.replica_failed = None, False
        request._stream = io.BytesIO(request.body)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if (
            may_read_from_a_replica(request)
            and not pinned_to_primary(request)
            and body_kept_for_a_second_answer(request)
        ):
            routers.read_from_a_replica()


def body_kept_for_a_second_answer(request: HttpRequest) -> bool:
    """Reads the body into memory (a read's body is small, and under the body limit), so
    that a read can be answered twice; a body too large stays on the primary."""
    try:
        request.body  # noqa: B018 (Django keeps what it reads)
    except RequestDataTooBig:
        return False
    return True


def may_read_from_a_replica(request: HttpRequest) -> bool:
    if not is_api_request(request):
        return False
    if request.method in {"GET", "HEAD"}:
        return True
    return request.method == "POST" and request.resolver_match.url_name in READS_SENT_AS_POST


def pinned_to_primary(request: HttpRequest) -> bool:
    until = request.COOKIES.get(READ_PRIMARY_COOKIE, "")
    return until.isdigit() and int(until) > time.time()


def pin_to_primary(response: HttpResponse) -> None:
    seconds = settings.CATALOG_REPLICA_PIN_SECONDS
    response.set_cookie(
        READ_PRIMARY_COOKIE,
        str(int(time.time()) + seconds),
        max_age=seconds,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


# Prefect's API behaviour ---------------------------------------------------------------

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
            # The database's own words name its columns and types: they go to the log only.
            logger.warning("Value refused on %s %s: %s", request.method, request.path, exception)
            return detail_response(VALUE_REFUSED, 422)
        if isinstance(exception, OperationalError | InterfaceError):
            logger.warning(
                "Database unavailable on %s %s: %s", request.method, request.path, exception
            )
            return service_unavailable_response()
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return server_error_response()


# The request deadline ------------------------------------------------------------------


class RequestDeadlineMiddleware:
    """Gives each request `CATALOG_REQUEST_DEADLINE_SECONDS` (catalog/api/deadline.py) and
    answers 503 past it: Prefect's JSON body in the API, a plain page elsewhere. Last in
    MIDDLEWARE, so that it times the view and the rendering of its answer, and its
    exception hook runs before any other: the timer stops before an error answer is built."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_deadline(settings.CATALOG_REQUEST_DEADLINE_SECONDS):
            return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        deadline = stop_the_timer()
        if deadline is None or not ran_past_its_deadline(exception):
            return None
        return deadline_response(request, exception)


# The admin's messages ------------------------------------------------------------------


class AdminMessageMiddleware(MessageMiddleware):
    """Django's messages for every page but the API's, which never shows one: making the
    message store costs each API request a cookie signer for nothing."""

    def process_request(self, request: HttpRequest) -> None:
        if not is_api_request(request):
            super().process_request(request)
