"""The bare-view ceiling for bench/api_vs_prefect.py: one Django view that answers
`GET /api/deployments/{id}` with fixed bytes (the file BENCH_BARE_BODY names), with no
middleware, no apps and no database; what Django and gunicorn cost on their own.

    BENCH_BARE_BODY=answer.json GUNICORN_BIND=127.0.0.1:8001 \
        uv run python -m gunicorn -c config/gunicorn.conf.py bench.bare_view:application

The catalog's gunicorn settings apply (the app named on the command line replaces the
config file's `wsgi_app`); the catalog's own settings and code are not loaded.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

BODY = Path(os.environ["BENCH_BARE_BODY"]).read_bytes()


def deployment(request, id):
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("api/deployments/<uuid:id>", deployment)]

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-bare-view-serves-no-secrets",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=True,
)
application = get_wsgi_application()
