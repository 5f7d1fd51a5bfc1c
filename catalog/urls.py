"""The API's routes, mounted at `/api/` with Prefect's paths and trailing slashes."""

import uuid

from django.urls import path, re_path, register_converter

from catalog import views


class PrefectUUIDConverter:
    """Starlette's `uuid` convertor: any case, hyphens optional; anything else is no route."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: uuid.UUID) -> str:
        return str(value)


register_converter(PrefectUUIDConverter, "prefect_uuid")

urlpatterns = [
    path("health", views.HealthView.as_view(), name="health"),
    path("version", views.ApiVersionView.as_view(), name="version"),
    path("ready", views.ReadyView.as_view(), name="ready"),
    path("hello", views.HelloView.as_view(), name="hello"),
    path("admin/version", views.ServerVersionView.as_view(), name="admin-version"),
    path("csrf-token", views.CsrfTokenView.as_view(), name="csrf-token"),
    path(
        "deployments/<prefect_uuid:id>",
        views.DeploymentDetailView.as_view(),
        name="deployment-detail",
    ),
    re_path(r"^(?P<unmatched>.*)$", views.api_not_found, name="api-not-found"),
]
