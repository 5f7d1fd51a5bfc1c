"""`GET /api/collections/views/{view}`: the worker types `prefect work-pool create` offers,
answered from the copy Prefect's server itself answers with when offline."""

import functools
from pathlib import Path

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request

from catalog.api.openapi import error, ok, undescribed_path_parameter
from catalog.api.views.base import PrefectAPIView, json_response

WORKER_METADATA = "aggregate-worker-metadata"
# Prefect fetches these from its collection registry on GitHub; the catalog makes no
# outbound requests, and keeps only the worker view, which Prefect also ships.
REGISTRY_ONLY_VIEWS = ("aggregate-block-metadata", "aggregate-flow-metadata", "demo-flows")
DATA = Path(__file__).resolve().parent.parent / "data"


@functools.cache
def worker_metadata() -> bytes:
    """Prefect 3.9.1 server's answer, offline, as captured (its bundled copy)."""
    return (DATA / f"{WORKER_METADATA}.json").read_bytes()


class CollectionViewView(PrefectAPIView):
    """The worker view from the bundled copy; the registry's other views 404 `Requested
    content missing for view {view}`; any other view 404 `View {view} not found in
    registry`."""

    @extend_schema(
        summary="Read View Content",
        parameters=[undescribed_path_parameter("view")],
        responses={
            200: ok(OpenApiTypes.OBJECT),
            404: error("View {view} not found in registry"),
        },
    )
    def get(self, request: Request, view: str):
        if view == WORKER_METADATA:
            return json_response(worker_metadata())
        if view in REGISTRY_ONLY_VIEWS:
            raise exceptions.NotFound(f"Requested content missing for view {view}")
        raise exceptions.NotFound(f"View {view} not found in registry")
