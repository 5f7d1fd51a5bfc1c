from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView

from catalog.api.docs import RedocView, SchemaView, SwaggerView
from catalog.api.openapi import served_from_this_host

# The schema and the docs pages need the credentials API reads need.
swagger_ui = SwaggerView.as_view(url_name="openapi-schema")
redoc = RedocView.as_view(url_name="openapi-schema", template_name="api_redoc.html")

# "/" (the admin's "View site"): links to the admin, the API docs and the health routes.
landing = TemplateView.as_view(
    template_name="landing.html",
    extra_context={"anonymous_read": settings.CATALOG_ANONYMOUS_READ},
)

urlpatterns = [
    path("", landing, name="landing"),
    path("api/openapi.json", SchemaView.as_view(), name="openapi-schema"),
    path("api/docs", served_from_this_host(swagger_ui), name="api-docs"),
    path("api/redoc", served_from_this_host(redoc), name="api-redoc"),
    path("api/", include("catalog.api.urls")),
    path("admin/", admin.site.urls),
]

handler404 = "catalog.api.errors.not_found"
handler500 = "catalog.api.errors.server_error"
