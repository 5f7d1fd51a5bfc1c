"""What every API view shares: Prefect's routing quirks, the filter routes' common shape,
and the write context each write hands to the write core."""

import sys
from contextlib import ExitStack

from django.db import transaction
from django.http import HttpResponse
from django.urls import ResolverMatch
from pydantic import BaseModel
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api.auth import READS_SENT_AS_POST
from catalog.api.bodies import check_limit, optional_object_body, raw_json, validated
from catalog.api.errors import RequestValidationError
from catalog.models import ApiKey
from catalog.rules.reasons import REASON_MAX_LENGTH, ReasonError, reason_from_header
from catalog.rules.text import text_problem
from catalog.services.context import Actor, Door, WriteContext
from catalog.services.history import change_set

# An optional header a client may send to say why it writes; the history keeps it.
REASON_HEADER = "X-Change-Reason"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class PrefectAPIView(APIView):
    """An API view without DRF's OPTIONS handler, which Prefect's routes do not have."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head"]

    # For a fixed path that a parameter route declared before it matches too (`/filter`
    # and `/{name}`), Starlette takes the parameter route for the methods the fixed one
    # lacks: `DELETE /v2/concurrency_limits/filter` deletes the limit named "filter".
    # Each entry: the parameter route's name, its view and its arguments.
    parameter_route: tuple[str, type["PrefectAPIView"], dict[str, str]] | None = None
    # Prefect's 404 wording differs by route: `{"deployment": "Deployment not found."}`.
    not_found_messages: dict[str, str] = {}

    def dispatch(self, request, *args, **kwargs):
        if self.parameter_route and not self.handles(request.method.lower()):
            name, view_class, arguments = self.parameter_route
            view = view_class.as_view()
            # Permissions look routes up by name: this request is the parameter route's.
            request.resolver_match = ResolverMatch(view, (), arguments, url_name=name)
            return view(request, **arguments)
        self.recording = None
        try:
            return super().dispatch(request, *args, **kwargs)
        except BaseException:
            if self.recording is not None:
                self.recording.__exit__(*sys.exc_info())
            raise

    def initial(self, request, *args, **kwargs):
        """Once the caller may write: a write runs in one transaction, recorded as one
        change set. Credentials are checked before, so a login failure's record (the
        throttle's) is never undone with a refused write."""
        super().initial(request, *args, **kwargs)
        if is_write(request):
            request.change_reason = change_reason(request)
            self.recording = ExitStack()
            self.recording.enter_context(change_set(lambda: write_context(self.request)))

    def handles(self, method: str) -> bool:
        """Whether DRF's dispatch would find this view a handler for `method`."""
        return method in self.http_method_names and hasattr(self, method)

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "recording", None) is not None:
            # An error answer (DRF made it from the exception) undoes the whole write.
            if response.status_code >= 400:
                transaction.set_rollback(True)
            recording, self.recording = self.recording, None
            recording.close()
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code == 405 and getattr(self, "prefect_allow", None):
            # Starlette names only the methods of the first route declared for the path.
            response["Allow"] = self.prefect_allow
        elif response.status_code != 405 and response.has_header("Allow"):
            del response["Allow"]
        return response


class FilterRouteView(PrefectAPIView):
    """A Prefect read route whose body is a filter: `limit` is read first, with Prefect's
    own errors, then the body's model; `answer` lists or counts what matches."""

    body_model: type[BaseModel]
    reads_limit = True

    def post(self, request: Request, **route) -> HttpResponse:
        body = optional_object_body(request)
        limit = check_limit(body) if self.reads_limit else None
        query = validated(self.body_model, body, echo=raw_json_or_none(request))
        return self.answer(query, limit, **route)

    def answer(self, query, limit: int | None, **route) -> HttpResponse:
        raise NotImplementedError


def raw_json_or_none(request: Request):
    data = raw_json(request)
    return data if isinstance(data, dict | list | str | int | float) else None


def is_write(request) -> bool:
    match = request.resolver_match
    name = match.url_name if match else None
    return request.method in WRITE_METHODS and name not in READS_SENT_AS_POST


def change_reason(request: Request) -> str | None:
    """The `X-Change-Reason` header, decoded; a 422 at the header when the history could
    not keep it."""
    raw = request.headers.get(REASON_HEADER)
    try:
        return reason_from_header(raw)
    except ReasonError as error:
        detail = {
            "type": error.code,
            "loc": ["header", REASON_HEADER.lower()],
            "msg": str(error),
            "input": raw,
            "ctx": {"max_length": REASON_MAX_LENGTH} if error.code == "string_too_long" else {},
        }
        raise RequestValidationError([detail], raw_json_or_none(request)) from None


def write_context(request: Request) -> WriteContext:
    """Who writes through the API: the API key, else the signed-in user; and why."""
    if isinstance(request.auth, ApiKey):
        actor = Actor.of_api_key(request.auth)
    elif request.user is not None and request.user.is_authenticated:
        actor = Actor.of_user(request.user)
    else:
        actor = Actor.system("anonymous")
    return WriteContext(actor, Door.API, getattr(request, "change_reason", None))


def storable(*texts: str) -> bool:
    """Whether each text could be stored at all. A name from the path with a NUL in it
    names nothing, and PostgreSQL would refuse the very lookup."""
    return all(text_problem(text) is None for text in texts)


def get_or_404(queryset, message: str, **lookup):
    if not storable(*(value for value in lookup.values() if isinstance(value, str))):
        raise exceptions.NotFound(message)
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise exceptions.NotFound(message) from None


def no_content() -> Response:
    return Response(status=204)


def json_response(body: bytes) -> HttpResponse:
    return HttpResponse(body, content_type="application/json")
