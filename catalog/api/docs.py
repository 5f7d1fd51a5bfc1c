"""The schema and the docs pages (`/api/openapi.json`, `/api/docs`, `/api/redoc`), readable
by whoever may read the API: anyone while CATALOG_ANONYMOUS_READ is on, else any valid
credentials (`CatalogAccess`). A refusal is the API's own JSON 401, not an HTML page.

Apart from `catalog.api.openapi`, which drf-spectacular's views import through DRF's
settings while they are defined."""

from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from catalog.api.auth import CatalogAccess
from catalog.api.renderers import PrefectJSONRenderer


class ReadLikeTheApi:
    permission_classes = [CatalogAccess]

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "exception", False):
            request.accepted_renderer = PrefectJSONRenderer()
            request.accepted_media_type = PrefectJSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class SchemaView(ReadLikeTheApi, SpectacularJSONAPIView):
    pass


class SwaggerView(ReadLikeTheApi, SpectacularSwaggerView):
    pass


class RedocView(ReadLikeTheApi, SpectacularRedocView):
    pass
