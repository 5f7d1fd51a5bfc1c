"""`import_deployments --from-api` retries a busy server as Prefect's own client does:
408, 429, 502 and 503 (Prefect's server answers 503 while its database is locked), after
the server's `Retry-After` or a doubling wait, a bounded number of times and never past
the import's deadline. Other errors are not retried. Against hostile servers on loopback
(tests/hostile_http.py); the waits are set to a hundredth of a second."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.core.management import call_command

from catalog.importing.sources.bounded_http import seconds_to_wait
from catalog.models import Flow
from tests import hostile_http as hostile
from tests.hostile_http import HostileServer
from tests.test_security_remote import nothing_stored, refusal

pytestmark = pytest.mark.django_db

FIRST = "/api/flows/paginate"
BUSY = '{"exception_message": "Service Unavailable"}'


@pytest.fixture(autouse=True)
def short_waits(settings):
    settings.CATALOG_REMOTE_RETRY_SECONDS = 0.01


def mirror(url: str) -> None:
    call_command("import_deployments", "--from-api", url, "--quiet")


@pytest.mark.parametrize("status", [408, 429, 502, 503])
def test_a_busy_answer_is_retried_until_the_server_answers(status):
    with HostileServer(hostile.busy(2, status)) as server:
        mirror(server.url)
    assert server.paths()[:4] == [FIRST, FIRST, FIRST, "/api/deployments/paginate"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 500, 504])
def test_other_errors_are_not_retried(status):
    with HostileServer(hostile.busy(1, status)) as server:
        problem = refusal(server.url)
    assert problem == f"{server.url}/flows/paginate: HTTP {status}: {BUSY}"
    assert server.paths() == [FIRST]


def test_a_server_busy_for_good_is_refused_after_the_retries(settings):
    with HostileServer(hostile.busy(10**6)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: HTTP 503 again after 5 retries "
        f"(CATALOG_REMOTE_RETRIES): {BUSY}"
    )
    assert server.paths() == [FIRST] * (settings.CATALOG_REMOTE_RETRIES + 1)
    assert nothing_stored()


def test_no_retries_when_they_are_turned_off(settings):
    settings.CATALOG_REMOTE_RETRIES = 0
    with HostileServer(hostile.busy(1)) as server:
        problem = refusal(server.url)
    assert problem == f"{server.url}/flows/paginate: HTTP 503: {BUSY}"
    assert server.paths() == [FIRST]


def test_the_servers_retry_after_is_taken_over_the_doubling_wait(settings):
    settings.CATALOG_REMOTE_RETRY_SECONDS = 3600
    with HostileServer(hostile.busy(2, 429, retry_after="0")) as server:
        mirror(server.url)
    assert server.paths()[:3] == [FIRST] * 3


def test_a_doubling_wait_past_the_deadline_is_refused_at_once(settings):
    settings.CATALOG_REMOTE_RETRY_SECONDS = 3600
    with HostileServer(hostile.busy(1)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: HTTP 503, and a retry in 3600 s would end past "
        "the import's 600 s (CATALOG_REMOTE_TOTAL_TIMEOUT)"
    )
    assert server.paths() == [FIRST]


@pytest.mark.parametrize("retry_after", ["86400", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_retry_after_past_the_deadline_is_refused_at_once(retry_after):
    with HostileServer(hostile.busy(1, 429, retry_after=retry_after)) as server:
        problem = refusal(server.url)
    assert problem.startswith(f"{server.url}/flows/paginate: HTTP 429, and a retry in ")
    assert problem.endswith(" s would end past the import's 600 s (CATALOG_REMOTE_TOTAL_TIMEOUT)")
    assert server.paths() == [FIRST]


def test_a_retry_after_that_is_not_a_wait_falls_back_to_the_doubling_wait():
    with HostileServer(hostile.busy(1, 503, retry_after="soon")) as server:
        mirror(server.url)
    assert server.paths()[:2] == [FIRST, FIRST]


def test_retries_are_not_pages(settings):
    settings.CATALOG_REMOTE_MAX_PAGES = 5
    with HostileServer(hostile.busy(4)) as server:
        mirror(server.url)
    assert server.paths().count(FIRST) == 5
    assert not Flow.objects.exists()


def test_retry_after_reads_seconds_and_http_dates():
    soon = datetime.now(UTC) + timedelta(seconds=120)
    assert seconds_to_wait("7") == 7.0
    assert seconds_to_wait(" 0 ") == 0.0
    assert 100 < seconds_to_wait(format_datetime(soon, usegmt=True)) <= 120
    assert seconds_to_wait("Mon, 01 Jan 1990 00:00:00 GMT") == 0.0
    assert seconds_to_wait(None) is None
    assert seconds_to_wait("-5") is None
    assert seconds_to_wait("soon") is None
