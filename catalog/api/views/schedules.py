"""A deployment's schedules: `/api/deployments/{id}/schedules…`."""

import uuid

from drf_spectacular.utils import extend_schema
from pydantic import RootModel
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import request_models as requests
from catalog.api import response_models as responses
from catalog.api.bodies import required_body
from catalog.api.openapi import (
    CONFLICT,
    DEPLOYMENT_ID,
    INVALID_BODY,
    NO_CONTENT,
    SCHEDULE_ID,
    error,
    json_body,
    list_of,
    ok,
)
from catalog.api.views.base import PrefectAPIView, get_or_404, no_content, write_context
from catalog.api.views.deployments import (
    DEPLOYMENT_NOT_FOUND_PERIOD,
    DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE,
)
from catalog.models import Deployment
from catalog.rendering.deployment_json import schedule_instance_json
from catalog.services import schedules
from catalog.services.deployments import deployment_for_update

SCHEDULE_ROUTE_NOT_FOUND = error("Deployment not found. or Schedule not found.")


class ScheduleList(RootModel[list[requests.DeploymentScheduleCreate]]):
    """The schedules to create."""


class ScheduleRouteView(PrefectAPIView):
    not_found_messages = {"deployment": DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE}


class DeploymentSchedulesView(ScheduleRouteView):
    """`GET /api/deployments/{id}/schedules`: newest first. `POST` a list of schedules:
    201 with them in request order; 409 for a slug already used. 404 `Deployment not
    found.`"""

    prefect_allow = "GET"

    @extend_schema(
        summary="Read Deployment Schedules",
        parameters=[DEPLOYMENT_ID],
        responses={
            200: ok(list_of(responses.DeploymentSchedule)),
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
        },
    )
    def get(self, request: Request, id: uuid.UUID) -> Response:
        deployment = get_or_404(Deployment.objects, DEPLOYMENT_NOT_FOUND_PERIOD_MESSAGE, id=id)
        rows = deployment.schedules.order_by("-updated")
        return Response([schedule_instance_json(row) for row in rows])

    @extend_schema(
        summary="Create Deployment Schedules",
        parameters=[DEPLOYMENT_ID],
        request=json_body(ScheduleList),
        responses={
            201: ok(list_of(responses.DeploymentSchedule), "The new schedules"),
            404: DEPLOYMENT_NOT_FOUND_PERIOD,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        entries = required_body(request, ScheduleList)
        created = schedules.schedules_create(
            deployment=deployment_for_update(id),
            entries=requests.plain(entries.root),
            context=write_context(request),
        )
        return Response([schedule_instance_json(row) for row in created], status=201)


class DeploymentScheduleDetailView(ScheduleRouteView):
    """`PATCH` (204) and `DELETE` (204) `/api/deployments/{id}/schedules/{schedule_id}`;
    404 `Deployment not found.` or `Schedule not found.`; 409 for a slug already used."""

    prefect_allow = "PATCH"

    @extend_schema(
        summary="Update Deployment Schedule",
        parameters=[DEPLOYMENT_ID, SCHEDULE_ID],
        request=json_body(requests.DeploymentScheduleUpdate),
        responses={
            204: NO_CONTENT,
            404: SCHEDULE_ROUTE_NOT_FOUND,
            409: CONFLICT,
            422: INVALID_BODY,
        },
    )
    def patch(self, request: Request, id: uuid.UUID, schedule_id: uuid.UUID) -> Response:
        update = required_body(request, requests.DeploymentScheduleUpdate)
        schedules.schedule_update(
            deployment=deployment_for_update(id),
            schedule_id=schedule_id,
            update=requests.given(update),
            context=write_context(request),
        )
        return no_content()

    @extend_schema(
        summary="Delete Deployment Schedule",
        parameters=[DEPLOYMENT_ID, SCHEDULE_ID],
        responses={204: NO_CONTENT, 404: SCHEDULE_ROUTE_NOT_FOUND},
    )
    def delete(self, request: Request, id: uuid.UUID, schedule_id: uuid.UUID) -> Response:
        schedules.schedule_delete(
            deployment=deployment_for_update(id),
            schedule_id=schedule_id,
            context=write_context(request),
        )
        return no_content()
