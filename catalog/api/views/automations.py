"""Automations, which the catalog does not keep: `/api/automations/…` as `prefect deploy`
and `prefect deployment inspect` call them."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import request_models as requests
from catalog.api.openapi import error, json_body, ok, undescribed_path_parameter
from catalog.api.views.base import PrefectAPIView

NO_AUTOMATIONS = (
    "This catalog stores deployments and keeps no automations: a deployment's `triggers` "
    "cannot be stored here. Remove `triggers` from the deployment, or create its "
    "automations on a Prefect server."
)
RESOURCE_ID = undescribed_path_parameter("resource_id")


class AutomationCreateView(PrefectAPIView):
    """`POST /api/automations/`: refused with 403, since the catalog keeps no automations
    (`prefect deploy` sends one for each of a deployment's `triggers`)."""

    @extend_schema(
        summary="Create Automation",
        request=json_body(requests.UnreadBody),
        responses={403: error(NO_AUTOMATIONS)},
    )
    def post(self, request: Request) -> Response:
        return Response({"detail": NO_AUTOMATIONS}, status=403)


class AutomationsRelatedToView(PrefectAPIView):
    """`GET /api/automations/related-to/{resource_id}`: `[]`, as Prefect answers for a
    resource no automation names."""

    @extend_schema(
        summary="Read Automations Related To Resource",
        parameters=[RESOURCE_ID],
        responses={200: ok({"type": "array", "items": {}, "maxItems": 0}, "Always empty")},
    )
    def get(self, request: Request, resource_id: str) -> Response:
        return Response([])


class AutomationsOwnedByView(PrefectAPIView):
    """`DELETE /api/automations/owned-by/{resource_id}`: 202 `null`, as Prefect answers
    when the resource owns no automation (`prefect deploy` calls it for each deployment)."""

    @extend_schema(
        summary="Delete Automations Owned By Resource",
        parameters=[RESOURCE_ID],
        responses={202: ok({"type": "null"})},
    )
    def delete(self, request: Request, resource_id: str) -> Response:
        return Response(None, status=202)
