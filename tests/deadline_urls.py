"""The catalog's URLs plus routes that are slow on purpose, for the request deadline's tests
(tests/test_security_deadline.py), in-process and under gunicorn (tests/deadline_settings.py)."""

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler404, handler500
from config.urls import urlpatterns as catalog_urlpatterns

# Far more than any deadline under test: minutes of work, so a guard that failed shows as an
# answer with the work done, never as a test that hangs.
PYTHON_STEPS = 1_000_000_000
SQLITE_ROWS = 1_000_000_000
POSTGRES_SLEEP_SECONDS = 60


def slow_query() -> int:
    """A statement that runs for minutes: SQLite counts through a recursive CTE, PostgreSQL
    sleeps."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_sleep(%s), 1", [POSTGRES_SLEEP_SECONDS])
        else:
            cursor.execute(
                "WITH RECURSIVE counter(n) AS "
                "(SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < %s) "
                "SELECT count(*) FROM counter",
                [SQLITE_ROWS],
            )
        return cursor.fetchone()[-1]


def slow_query_view(request):
    return JsonResponse({"rows": slow_query()})


def slow_query_page(request):
    return HttpResponse(f"<p>{slow_query()} rows</p>")


def python_steps() -> int:
    steps = 0
    while steps < PYTHON_STEPS:
        steps += 1
    return steps


class SlowPythonView(APIView):
    """A DRF view, as the API's are, whose work is pure Python."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"steps": python_steps()})


def slow_python_page(request):
    return HttpResponse(f"<p>{python_steps()} steps</p>")


def database_timeouts_view(request):
    """How long this connection lets a statement run (PostgreSQL) or wait for a lock (SQLite)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            return JsonResponse({"statement_timeout": cursor.fetchone()[0]})
        cursor.execute("PRAGMA busy_timeout")
        return JsonResponse({"busy_timeout": cursor.fetchone()[0]})


urlpatterns = [
    path("api/tests/slow-query", slow_query_view),
    path("api/tests/slow-python", SlowPythonView.as_view()),
    path("api/tests/database-timeouts", database_timeouts_view),
    path("pages/slow-query", slow_query_page),
    path("pages/slow-python", slow_python_page),
    *catalog_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
