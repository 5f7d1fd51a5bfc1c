"""`import_deployments --from-api` against hostile servers (tests/hostile_http.py, real
servers on loopback): http(s) only, no credentials across origins, and page, byte and time
budgets that stop a server that never ends. Each refusal is one line, exits non-zero and
writes nothing. Page and byte budgets run at their production defaults; the time budgets
are set to a second or less, since their defaults are minutes."""

import base64

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.models import ConcurrencyLimit, Deployment, Flow, Variable, WorkPool
from tests import hostile_http as hostile
from tests.hostile_http import HostileServer

pytestmark = pytest.mark.django_db

KEY = "pnu_the-key-that-must-stay-home"
BASIC = f"Basic {base64.b64encode(f'admin:{KEY}'.encode()).decode()}"
REFUSED = "Import refused; nothing was written.\n"


def refusal(url: str, *options: str, capsys=None) -> str:
    """The one problem line of an import refused by the command."""
    with pytest.raises(CommandError) as caught:
        call_command("import_deployments", "--from-api", url, "--quiet", *options)
    message = str(caught.value)
    assert message.startswith(REFUSED)
    problem = message.removeprefix(REFUSED)
    assert "\n" not in problem
    return problem


def nothing_stored() -> bool:
    models = (Flow, Deployment, ConcurrencyLimit, WorkPool, Variable)
    return all(not model.objects.exists() for model in models)


# URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/api",
        "127.0.0.1:4200/api",
        "example.com/api",
        "javascript:alert(1)",
        "//127.0.0.1/api",
    ],
)
def test_it_refuses_urls_that_are_not_http(url):
    assert refusal(url) == f"--from-api takes an http:// or https:// URL, not {url!r}"
    assert nothing_stored()


def test_it_refuses_a_url_without_a_host():
    assert refusal("http:///api") == "--from-api URL 'http:///api' names no host"


def test_it_refuses_a_malformed_port():
    url = "http://127.0.0.1:99999/api"
    assert refusal(url) == f"--from-api URL {url!r} has a malformed port"


def test_it_refuses_credentials_in_the_url_without_repeating_them():
    problem = refusal("http://admin:hunter2@127.0.0.1:9/api")
    assert problem == "--from-api URL must not carry credentials; use --api-key or --basic-auth"


def test_it_refuses_the_url_before_reading_files(tmp_path):
    missing = tmp_path / "absent.json"
    with pytest.raises(CommandError, match="takes an http:// or https:// URL"):
        call_command("import_deployments", str(missing), "--from-api", "file:///etc/passwd")


# Redirects ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(
    ("option", "value", "authorization"),
    [
        ("--api-key", KEY, f"Bearer {KEY}"),
        ("--basic-auth", f"admin:{KEY}", BASIC),
    ],
    ids=["api-key", "basic-auth"],
)
def test_a_redirect_to_another_port_never_gets_the_credentials(
    status, option, value, authorization
):
    with HostileServer(hostile.empty_listings) as elsewhere:
        scenario = hostile.redirect_to(f"{elsewhere.url}/flows/paginate", status)
        with HostileServer(scenario) as server:
            problem = refusal(server.url, option, value)
    assert problem == (
        f"{server.url}/flows/paginate: redirected to another origin ({elsewhere.origin}); "
        f"not followed, so the credentials stay with {server.origin}"
    )
    assert elsewhere.seen == []
    assert server.seen[0].headers["Authorization"] == authorization
    assert nothing_stored()


def test_a_redirect_from_http_to_https_on_the_same_host_is_another_origin():
    with HostileServer(hostile.empty_listings) as server:
        https = server.origin.replace("http://", "https://")
        server.scenario = hostile.redirect_to(f"{https}/api/flows/paginate", status=308)
        problem = refusal(server.url, "--api-key", KEY)
    assert problem == (
        f"{server.url}/flows/paginate: redirected to another origin ({https}); "
        f"not followed, so the credentials stay with {server.origin}"
    )


def test_a_scheme_relative_redirect_to_another_host_is_refused():
    with HostileServer(hostile.redirect_to("//localhost:1/steal")) as server:
        problem = refusal(server.url, "--api-key", KEY)
    assert problem == (
        f"{server.url}/flows/paginate: redirected to another origin (http://localhost:1); "
        f"not followed, so the credentials stay with {server.origin}"
    )


def test_a_redirect_to_a_file_is_refused():
    with HostileServer(hostile.redirect_to("file:///etc/passwd", status=302)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: redirected to a 'file' URL; only http(s) is followed"
    )
    assert len(server.seen) == 1


def test_a_redirect_that_would_turn_the_post_into_a_get_is_refused():
    with HostileServer(hostile.redirect_to("/api/elsewhere", status=302)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: HTTP 302 redirect to {server.origin}/api/elsewhere "
        "would turn the POST into a GET; give that URL to --from-api"
    )


def test_redirects_within_the_origin_stop_at_the_budget(settings):
    with HostileServer(hostile.redirect_to("/api/flows/paginate")) as server:
        problem = refusal(server.url)
    budget = settings.CATALOG_REMOTE_MAX_REDIRECTS
    assert problem == (
        f"{server.url}/flows/paginate: more than {budget} redirects (CATALOG_REMOTE_MAX_REDIRECTS)"
    )
    assert len(server.seen) == budget + 1


def test_a_redirect_within_the_origin_keeps_the_post_and_the_key(capsys):
    with HostileServer(hostile.redirect_once_within) as server:
        call_command("import_deployments", "--from-api", server.url, "--api-key", KEY, "--quiet")
    assert "created=0 updated=0 unchanged=0 errors=0" in capsys.readouterr().out
    followed = [seen for seen in server.seen if seen.path.endswith("/")]
    assert len(followed) == len(server.seen) / 2 == 5
    assert all(seen.headers["Authorization"] == f"Bearer {KEY}" for seen in followed)
    assert followed[0].body == {"page": 1, "limit": 200}


# Pages ----------------------------------------------------------------------------------


def test_endless_pages_stop_at_the_page_budget(settings):
    with HostileServer(hostile.endless_pages) as server:
        problem = refusal(server.url)
    budget = settings.CATALOG_REMOTE_MAX_PAGES
    assert problem == (
        f"{server.url}: stopped after {budget:,} pages, the most one import reads "
        "(CATALOG_REMOTE_MAX_PAGES)"
    )
    assert len(server.seen) == budget == 1000
    assert nothing_stored()


def test_endless_filter_pages_stop_at_the_page_budget(settings):
    with HostileServer(hostile.endless_offsets) as server:
        problem = refusal(server.url)
    assert problem.endswith("pages, the most one import reads (CATALOG_REMOTE_MAX_PAGES)")
    assert len(server.seen) == settings.CATALOG_REMOTE_MAX_PAGES
    assert server.seen[-1].path == "/api/v2/concurrency_limits/filter"
    assert nothing_stored()


def test_a_server_that_repeats_its_page_is_stopped_at_the_repeat():
    with HostileServer(hostile.repeated_page) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: page 2 repeats an earlier page; the server pages in a loop"
    )
    assert len(server.seen) == 2
    assert nothing_stored()


def test_a_page_longer_than_asked_is_refused():
    def too_many(reply, number, body):
        reply.json({"results": [{"id": str(n)} for n in range(201)], "pages": 1})

    with HostileServer(too_many) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: page 1 has 201 results, more than the 200 asked for"
    )


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ({"results": []}, "page 1 has no whole number of pages"),
        ({"results": {}, "pages": 1}, "page 1 is not a list of results"),
        ([], "page 1 is not a paginate answer"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_refused(answer, problem):
    with HostileServer(lambda reply, number, body: reply.json(answer)) as server:
        assert refusal(server.url) == f"{server.url}/flows/paginate: {problem}"


def test_an_answer_that_is_not_json_is_refused():
    def text(reply, number, body):
        reply.headers(length=5)
        reply.send(b"hello")

    with HostileServer(text) as server:
        assert refusal(server.url) == f"{server.url}/flows/paginate: the answer is not JSON"


def test_a_work_pool_without_a_name_is_refused():
    def pools(reply, number, body):
        if reply.handler.path.endswith("/work_pools/filter"):
            reply.json([{"id": "p"}])
        else:
            hostile.empty_listings(reply, number, body)

    with HostileServer(pools) as server:
        problem = refusal(server.url)
    assert problem == f"{server.url}/work_pools/filter: a work pool without a name: {{'id': 'p'}}"


def test_an_error_answer_is_one_printable_line():
    with HostileServer(hostile.failing) as server:
        problem = refusal(server.url)
    detail = "?[31mboom second line?" + "x" * 177 + "…"
    assert problem == f"{server.url}/flows/paginate: HTTP 500: {detail}"


# Bytes ----------------------------------------------------------------------------------


def test_an_endless_body_stops_at_the_response_budget(settings):
    with HostileServer(hostile.endless_body) as server:
        problem = refusal(server.url)
        assert hostile.wait_for(lambda: server.cut_off == 1)
    budget = settings.CATALOG_REMOTE_MAX_RESPONSE_BYTES
    assert problem == (
        f"{server.url}/flows/paginate: the answer is larger than {budget:,} bytes "
        "(CATALOG_REMOTE_MAX_RESPONSE_BYTES)"
    )
    assert budget == 8 * 1024 * 1024
    # Read to just past the budget, then cut: what the server got out is the budget plus
    # what the loopback's socket buffers hold.
    assert budget < server.bytes_sent < 2 * budget
    assert nothing_stored()


def test_a_declared_length_past_the_budget_is_refused_before_reading():
    with HostileServer(hostile.declared_huge) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: the answer is larger than 8,388,608 bytes "
        "(CATALOG_REMOTE_MAX_RESPONSE_BYTES)"
    )


def test_the_answers_together_stop_at_the_total_budget(settings):
    """Pages a sixteenth of the budget and a little more, each a new flow: the 16th passes it."""
    budget = settings.CATALOG_REMOTE_MAX_TOTAL_BYTES
    description = "d" * (budget // 16)

    def big_pages(reply, number, body):
        flow = hostile.flow(f"flow-{number}") | {"description": description}
        reply.json({"results": [flow], "pages": 10**6})

    with HostileServer(big_pages) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: the server sent more than {budget:,} bytes in all, "
        "the most one import reads (CATALOG_REMOTE_MAX_TOTAL_BYTES)"
    )
    assert budget == 32 * 1024 * 1024
    assert len(server.seen) == 16
    assert nothing_stored()


# Time -----------------------------------------------------------------------------------


def test_a_slow_drip_body_stops_at_the_total_timeout(settings):
    settings.CATALOG_REMOTE_TOTAL_TIMEOUT = 1
    with HostileServer(hostile.slow_drip(every=0.02)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: the import took longer than 1 s "
        "(CATALOG_REMOTE_TOTAL_TIMEOUT)"
    )
    # Each byte came well within the request timeout (30 s): only the total one applies.
    assert settings.CATALOG_REMOTE_REQUEST_TIMEOUT == 30
    assert 10 < server.bytes_sent < settings.CATALOG_REMOTE_MAX_RESPONSE_BYTES
    assert nothing_stored()


def test_slow_drip_headers_stop_at_the_total_timeout(settings):
    settings.CATALOG_REMOTE_TOTAL_TIMEOUT = 1
    with HostileServer(hostile.slow_headers(every=0.02)) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: the import took longer than 1 s "
        "(CATALOG_REMOTE_TOTAL_TIMEOUT)"
    )


def test_slow_pages_stop_at_the_total_timeout(settings):
    settings.CATALOG_REMOTE_TOTAL_TIMEOUT = 1
    with HostileServer(hostile.slow_pages(delay=0.1)) as server:
        problem = refusal(server.url)
    assert problem.endswith(": the import took longer than 1 s (CATALOG_REMOTE_TOTAL_TIMEOUT)")
    assert 2 < len(server.seen) < settings.CATALOG_REMOTE_MAX_PAGES
    assert nothing_stored()


def test_a_silent_server_stops_at_the_request_timeout(settings):
    settings.CATALOG_REMOTE_REQUEST_TIMEOUT = 0.5
    with HostileServer(hostile.silent) as server:
        problem = refusal(server.url)
    assert problem == (
        f"{server.url}/flows/paginate: no answer within 0.5 s (CATALOG_REMOTE_REQUEST_TIMEOUT)"
    )
    assert len(server.seen) == 1
