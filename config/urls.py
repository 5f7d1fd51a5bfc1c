from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from catalog.api.openapi import served_from_this_host

swagger_ui = SpectacularSwaggerView.as_view(url_name="openapi-schema")
redoc = SpectacularRedocView.as_view(url_name="openapi-schema", template_name="api_redoc.html")

urlpatterns = [
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path("api/docs", served_from_this_host(swagger_ui), name="api-docs"),
    path("api/redoc", served_from_this_host(redoc), name="api-redoc"),
    path("api/", include("catalog.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "catalog.api.errors.not_found"
handler500 = "catalog.api.errors.server_error"
