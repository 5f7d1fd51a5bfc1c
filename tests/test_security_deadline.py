"""The request deadline (`CATALOG_REQUEST_DEADLINE_SECONDS`, catalog/api/deadline.py): work
that runs past it answers Prefect's JSON 503 in the API and a plain 503 page elsewhere,
before gunicorn would kill the worker; commands have no deadline. And the schema and docs
pages follow the API's read permission.

The slow routes (tests/deadline_urls.py) would run for minutes: an answer before that shows
a guard stopped them, and the warning each logs names the deadline and what stopped it."""

import json
import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory

import config.settings
from catalog.api.auth import NOT_AUTHENTICATED
from catalog.api.deadline import DeadlineExceeded
from catalog.api.errors import server_error
from catalog.models import ApiKeyAccess
from tests.factories import ApiKeyFactory
from tests.servers import gunicorn, manage, scratch_database, send, server_environment

pytestmark = pytest.mark.urls("tests.deadline_urls")

DEADLINE = 1
SERVICE_UNAVAILABLE = {"exception_message": "Service Unavailable"}
DEADLINE_WARNING = f"Request deadline of {DEADLINE} s passed on GET "
on_postgres = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="statement_timeout is PostgreSQL's"
)


@pytest.fixture
def short_deadline(settings, transactional_db):
    """A one-second deadline, on connections a test may close. A connection a request
    opens keeps its statement_timeout, so it is closed after the test."""
    settings.CATALOG_REQUEST_DEADLINE_SECONDS = DEADLINE
    yield
    connection.close()


def deadline_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(DEADLINE_WARNING)]


def assert_service_unavailable_in_json(response) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == SERVICE_UNAVAILABLE


def assert_the_connection_still_works(client) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    flows = client.post("/api/flows/filter", {}, content_type="application/json")
    assert (flows.status_code, flows.json()) == (200, [])


# The setting ---------------------------------------------------------------------------


SETTING = "CATALOG_REQUEST_DEADLINE_SECONDS"


def test_the_default_deadline_ends_well_before_gunicorns_timeout():
    assert (config.settings.CATALOG_REQUEST_DEADLINE_SECONDS, config.settings.GUNICORN_TIMEOUT) == (
        10,
        30,
    )


def test_a_deadline_not_shorter_than_gunicorns_timeout_is_refused(monkeypatch):
    monkeypatch.setenv(SETTING, "30")
    message = f"{SETTING} must be at least 1 and less than GUNICORN_TIMEOUT (30), got 30"
    with pytest.raises(Exception, match=re.escape(message)):
        config.settings.request_deadline_seconds(SETTING, 10, 30)


def test_the_app_refuses_to_start_with_a_deadline_past_gunicorns_timeout():
    finished = manage("check", env=server_environment(**{SETTING: "30"}))
    assert finished.returncode != 0
    assert "must be at least 1 and less than GUNICORN_TIMEOUT (30), got 30" in finished.stderr


def test_a_longer_gunicorn_timeout_allows_a_longer_deadline(monkeypatch):
    monkeypatch.setenv(SETTING, "30")
    assert config.settings.request_deadline_seconds(SETTING, 10, 60) == 30


# Past the deadline ---------------------------------------------------------------------


def test_a_slow_query_answers_503_in_json_and_the_connection_still_works(
    client, short_deadline, caplog
):
    """In the main thread the timer cancels the query. The test's connection may have been
    opened by an earlier test's request, with a statement_timeout: it is taken off here
    (until the test's transaction rolls back), so the timer is what stops the query."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert_service_unavailable_in_json(client.get("/api/tests/slow-query"))
    stopped_by = "due to user request" if connection.vendor == "postgresql" else "interrupted"
    [warning] = deadline_warnings(caplog)
    assert stopped_by in warning
    assert_the_connection_still_works(client)


def test_the_database_stops_a_slow_query_where_no_timer_can(client, short_deadline, caplog):
    """In a thread (gunicorn's threaded workers) no signal arrives: PostgreSQL's
    statement_timeout, or SQLite's progress handler, ends the query."""
    answers = []

    def request_in_a_thread() -> None:
        try:
            answers.append(client.get("/api/tests/slow-query"))
            assert_the_connection_still_works(client)
        finally:
            connection.close()

    thread = threading.Thread(target=request_in_a_thread)
    thread.start()
    thread.join()
    assert_service_unavailable_in_json(answers[0])
    stopped_by = "due to statement timeout" if connection.vendor == "postgresql" else "interrupted"
    [warning] = deadline_warnings(caplog)
    assert stopped_by in warning


def test_slow_python_work_answers_503_in_json(client, short_deadline, caplog):
    assert_service_unavailable_in_json(client.get("/api/tests/slow-python"))
    assert deadline_warnings(caplog) == [
        f"{DEADLINE_WARNING}/api/tests/slow-python: The request ran past its deadline of 1 s."
    ]
    assert_the_connection_still_works(client)


@pytest.mark.parametrize("page", ["/pages/slow-python", "/pages/slow-query"])
def test_a_page_outside_the_api_past_its_deadline_is_a_plain_503_page(
    client, short_deadline, caplog, page
):
    response = client.get(page)
    assert response.status_code == 503
    assert response["Content-Type"] == "text/html; charset=utf-8"
    text = response.content.decode()
    assert "<h1>Service Unavailable</h1>" in text
    assert "longer than the 1 seconds the server gives a request" in text
    assert "Traceback" not in text and "SELECT" not in text
    assert len(deadline_warnings(caplog)) == 1


def test_a_request_within_its_deadline_is_untouched(client, short_deadline, caplog):
    assert_the_connection_still_works(client)
    assert deadline_warnings(caplog) == []


def test_an_error_answer_for_a_deadline_raised_outside_a_view_is_the_503_and_logged(
    settings, caplog
):
    """The timer's alarm can land after a statement it cancelled and before the
    middleware's hook stops the timer: Django's handler500 then answers, as the hook would."""
    settings.CATALOG_REQUEST_DEADLINE_SECONDS = DEADLINE
    request = RequestFactory().get("/api/deployments/")
    try:
        raise DeadlineExceeded(DEADLINE)
    except DeadlineExceeded:
        response = server_error(request)
    assert_service_unavailable_in_json(response)
    assert deadline_warnings(caplog) == [
        f"{DEADLINE_WARNING}/api/deployments/: The request ran past its deadline of 1 s."
    ]


def test_debug_pages_are_off_by_default():
    assert config.settings.DEBUG is False


def test_other_unhandled_errors_stay_prefects_json_500():
    request = RequestFactory().get("/api/deployments/")
    try:
        raise RuntimeError("SELECT secret FROM somewhere")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert json.loads(response.content) == {"exception_message": "Internal Server Error"}


def test_other_unhandled_errors_outside_the_api_are_djangos_plain_page():
    request = RequestFactory().get("/admin/")
    try:
        raise RuntimeError("SELECT secret FROM somewhere")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert b"Server Error (500)" in response.content
    assert b"SELECT" not in response.content and b"Traceback" not in response.content


# Who gets a statement_timeout ----------------------------------------------------------


@on_postgres
def test_a_web_requests_connection_times_out_statements_and_a_commands_does_not(
    client, short_deadline, capsys
):
    connection.close()
    answer = client.get("/api/tests/database-timeouts")
    assert answer.json() == {"statement_timeout": "1s"}
    connection.close()
    call_command(
        "shell",
        command=(
            "from django.db import connection\n"
            "with connection.cursor() as cursor:\n"
            "    cursor.execute('SHOW statement_timeout')\n"
            "    print(cursor.fetchone()[0])\n"
        ),
    )
    assert capsys.readouterr().out.splitlines()[-1] == "0"


# Under gunicorn ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_with_slow_routes(tmp_path_factory, django_db_setup, django_db_blocker):
    """Gunicorn with a one-second deadline and a 5 s worker timeout, serving the slow
    routes too, on an empty scratch database."""
    directory = tmp_path_factory.mktemp("deadline")
    with django_db_blocker.unblock():
        database = scratch_database("deadline", directory)
    env = server_environment(
        DATABASE_URL=database.url,
        DJANGO_SETTINGS_MODULE="tests.deadline_settings",
        CATALOG_REQUEST_DEADLINE_SECONDS=str(DEADLINE),
        GUNICORN_TIMEOUT="5",
    )
    log = directory / "gunicorn.log"
    try:
        with gunicorn(env, log) as url:
            yield url, log
    finally:
        with django_db_blocker.unblock():
            database.drop()


@pytest.mark.parametrize("route", ["/api/tests/slow-python", "/api/tests/slow-query"])
def test_gunicorn_answers_json_503_before_it_would_kill_the_worker(
    gunicorn_with_slow_routes, route
):
    url, log = gunicorn_with_slow_routes
    answer = send(f"{url}{route}")
    assert answer.status == 503, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    assert json.loads(answer.body) == SERVICE_UNAVAILABLE
    logged = log.read_text()
    assert "WORKER TIMEOUT" not in logged
    assert len(re.findall(r"Booting worker with pid", logged)) == 1
    assert f"Request deadline of {DEADLINE} s passed on GET {route}" in logged, logged


def test_gunicorns_connections_wait_no_longer_than_the_deadline(gunicorn_with_slow_routes):
    url, _ = gunicorn_with_slow_routes
    answer = send(f"{url}/api/tests/database-timeouts")
    assert answer.status == 200, answer.body
    if connection.vendor == "postgresql":
        assert json.loads(answer.body) == {"statement_timeout": "1s"}
    else:
        assert json.loads(answer.body) == {"busy_timeout": 1000}


# The schema and docs pages -------------------------------------------------------------

DOCS = ["/api/openapi.json", "/api/docs", "/api/redoc"]
DOCS_CONTENT = {
    "/api/openapi.json": '"openapi": "3.1.0"',
    "/api/docs": "swagger-ui",
    "/api/redoc": "redoc",
}


@pytest.mark.parametrize("page", DOCS)
def test_the_docs_need_credentials_when_anonymous_reads_are_off(client, db, settings, page):
    settings.CATALOG_ANONYMOUS_READ = False
    response = client.get(page)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json() == {"detail": NOT_AUTHENTICATED}


@pytest.mark.parametrize("page", DOCS)
def test_the_docs_open_to_a_read_key_when_anonymous_reads_are_off(client, db, settings, page):
    settings.CATALOG_ANONYMOUS_READ = False
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    response = client.get(page, HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    assert response.status_code == 200
    assert DOCS_CONTENT[page] in response.content.decode()


@pytest.mark.parametrize("page", DOCS)
def test_the_docs_open_to_a_staff_login_when_anonymous_reads_are_off(admin_client, settings, page):
    settings.CATALOG_ANONYMOUS_READ = False
    response = admin_client.get(page)
    assert response.status_code == 200
    assert DOCS_CONTENT[page] in response.content.decode()


@pytest.mark.parametrize("page", DOCS)
def test_the_docs_stay_public_while_anonymous_reads_are_on(client, db, page):
    response = client.get(page)
    assert response.status_code == 200
    assert DOCS_CONTENT[page] in response.content.decode()


@pytest.mark.parametrize("page", DOCS)
def test_the_docs_refuse_a_wrong_key_as_the_api_does(client, db, page):
    response = client.get(page, HTTP_AUTHORIZATION="Bearer pcat_not-a-key")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key."}
