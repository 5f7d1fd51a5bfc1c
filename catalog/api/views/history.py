"""A deployment's change history: `GET /api/deployments/{id}/history` lists its versions,
newest first, each with who changed what and why; `POST …/history/{version}/restore`
brings a version's configuration back as a new version. Catalog routes, not Prefect's."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import response_models as responses
from catalog.api.errors import ApiError
from catalog.api.openapi import DEPLOYMENT_ID, error, ok, path_parameter, returns
from catalog.api.query_limits import StrictLimitOffsetPagination
from catalog.api.views.base import PrefectAPIView, write_context
from catalog.api.views.deployments import DEPLOYMENT_NOT_FOUND_MESSAGE, describe_query_errors
from catalog.models import Deployment, ObjectType, Version
from catalog.rules.datetimes import format_utc
from catalog.services.errors import Invalid
from catalog.services.history import version_changes, versions_of_object
from catalog.services.history_restore import VERSION_NOT_FOUND, deployment_restore

HISTORY_ENTRY = returns(responses.DeploymentHistoryEntry)
NOT_RESTORABLE_NOW = OpenApiResponse(
    {"anyOf": [returns(responses.HTTPError), returns(responses.RequestValidationError)]},
    description="Values the rules refuse now (job variables off the work pool's schema), "
    "or a bad X-Change-Reason header",
)
VERSION_NUMBER = path_parameter("version", "The version's number, from 1", OpenApiTypes.INT)
PAGE_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
    OpenApiParameter("offset", {"type": "integer", "minimum": 0, "default": 0}),
]


class HistoryPagination(StrictLimitOffsetPagination):
    default_limit = 50
    max_limit = 200


def history_entry(version: Version) -> dict:
    """One version as the API shows it: who, through which door, why, and what changed."""
    change = version.change_set
    return {
        "version": version.number,
        "at": format_utc(version.at),
        "kind": version.kind,
        "actor": {"kind": change.actor_kind, "name": change.actor_name, "id": change.actor_id},
        "door": change.door,
        "reason": change.reason,
        "change_set": str(change.id),
        "restored_from": version.restored_from,
        "changes": version_changes(version),
    }


def history_entries(versions: list[Version]) -> list[dict]:
    return [history_entry(version) for version in versions]


class DeploymentHistoryView(PrefectAPIView):
    """`GET /api/deployments/{id}/history`: the deployment's versions, newest first, in
    two queries whatever their number; a deleted deployment's too. 404 `Deployment not
    found` when the id has neither versions nor a row."""

    @extend_schema(
        summary="Read Deployment History",
        parameters=[DEPLOYMENT_ID, *PAGE_PARAMETERS],
        responses={
            200: ok(returns(responses.DeploymentHistoryPage)),
            400: error("A bad limit or offset, or a malformed x-prefect-api-version header"),
            404: error(DEPLOYMENT_NOT_FOUND_MESSAGE),
        },
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        pagination = HistoryPagination()
        versions = versions_of_object(ObjectType.DEPLOYMENT, id)
        page = pagination.paginate_queryset(versions, request, view=self)
        if pagination.count == 0 and not Deployment.objects.filter(id=id).exists():
            raise exceptions.NotFound(DEPLOYMENT_NOT_FOUND_MESSAGE)
        return pagination.get_paginated_response(history_entries(page))

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.ValidationError):
            exc = ApiError(400, describe_query_errors(exc.detail))
        return super().handle_exception(exc)


class DeploymentRestoreView(PrefectAPIView):
    """`POST /api/deployments/{id}/history/{version}/restore`: the deployment as that
    version left it, recorded as a new version; 200 with it (with the latest version when
    the deployment is that already). 404 `Version not found.`; 409 when the version cannot
    come back (its name taken, its work pool gone), saying why; 422 for values the rules
    refuse now."""

    @extend_schema(
        summary="Restore Deployment Version",
        parameters=[DEPLOYMENT_ID, VERSION_NUMBER],
        request=None,
        responses={
            200: ok(HISTORY_ENTRY, "The version the restore recorded"),
            404: error(VERSION_NOT_FOUND),
            409: error("What is in the way: a name taken, a flow or work pool gone"),
            422: NOT_RESTORABLE_NOW,
        },
    )
    def post(self, request: Request, id: uuid.UUID, version: int) -> Response:
        restored = deployment_restore(
            deployment_id=id, number=version, context=write_context(request)
        )
        return Response(history_entries([restored])[0])

    def handle_exception(self, exc):
        if isinstance(exc, Invalid):
            # The route has no body to point into: the rules the version breaks, in words.
            exc = ApiError(422, f"Error restoring deployment: {exc.message}")
        return super().handle_exception(exc)
