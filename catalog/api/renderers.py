"""DRF's renderer and content negotiation, answering as Prefect's server does: JSON whatever
`Accept` says, `null` bodies."""

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer

from catalog.rendering.jsontext import dumps


class PrefectJSONRenderer(JSONRenderer):
    """Starlette's `JSONResponse` bytes: unlike DRF's renderer it escapes nothing extra,
    and a `None` body on a non-204 answer is the literal `null` (pause, resume)."""

    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        response = (renderer_context or {}).get("response")
        if data is None and (response is None or response.status_code == 204):
            return b""
        return dumps(data)


class JsonOnly(DefaultContentNegotiation):
    """Prefect's server answers JSON whatever `Accept` says, and so does the catalog (DRF
    would answer 406 to `Accept: text/html`, and parse the header on every request)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = renderers[0]
        return renderer, renderer.media_type
