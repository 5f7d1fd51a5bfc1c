"""Flow runs, which the catalog does not make: `POST /api/deployments/{id}/create_flow_run`
(`prefect deployment run`) is refused with a message the CLI prints."""

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api import request_models as requests
from catalog.api.openapi import DEPLOYMENT_ID, error, json_body
from catalog.api.views.base import PrefectAPIView
from catalog.models import Deployment
from catalog.services.deployments import DEPLOYMENT_NOT_FOUND


def runs_nothing(deployment: Deployment) -> str:
    return (
        "This catalog stores deployments and runs nothing: it cannot create a flow run of "
        f"{deployment.flow.name}/{deployment.name}. Run it from a Prefect server that has "
        "this deployment."
    )


class CreateFlowRunView(PrefectAPIView):
    """403 with why (the catalog keeps no flow runs); 404 `Deployment not found` for a
    deployment it does not have, as Prefect answers. The body is not read."""

    @extend_schema(
        summary="Create Flow Run From Deployment",
        parameters=[DEPLOYMENT_ID],
        request=json_body(requests.UnreadBody),
        responses={
            403: error("This catalog stores deployments and runs nothing"),
            404: error(DEPLOYMENT_NOT_FOUND),
        },
    )
    def post(self, request: Request, id: uuid.UUID) -> Response:
        deployment = Deployment.objects.select_related("flow").filter(id=id).first()
        if deployment is None:
            return Response({"detail": DEPLOYMENT_NOT_FOUND}, status=404)
        return Response({"detail": runs_nothing(deployment)}, status=403)
