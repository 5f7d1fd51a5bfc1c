import io
import json
import logging
from types import SimpleNamespace

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from catalog.api.middleware import RequestLogMiddleware
from catalog.logs import JsonLineFormatter
from catalog.models import Flow
from tests.factories import DeploymentFactory

LIMIT = 1024 * 1024


def flow_body(name: str, size: int) -> bytes:
    """A flow create body of exactly `size` bytes."""
    bare = json.dumps({"name": name, "labels": {"padding": ""}})
    return json.dumps({"name": name, "labels": {"padding": "x" * (size - len(bare))}}).encode()


def post_chunked(client, path: str, body: bytes):
    """A POST as gunicorn hands on a chunked one: no Content-Length, and an input stream
    that ends with the body."""
    return client.generic(
        "POST",
        path,
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True},
    )


# The body limit ------------------------------------------------------------------------


def test_the_default_body_limit_is_one_mebibyte(settings):
    assert settings.CATALOG_MAX_BODY_BYTES == LIMIT


@pytest.mark.django_db
def test_a_body_over_the_limit_is_a_413_in_prefects_shape(client):
    response = client.post("/api/flows/", flow_body("big", LIMIT + 1), "application/json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large: the limit is 1048576 bytes."}
    assert not Flow.objects.exists()


@pytest.fixture
def writer(client, write_key):
    """The test client, sending a write key."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {write_key.secret}"
    return client


@pytest.mark.django_db
def test_a_body_at_the_limit_is_read(writer):
    response = writer.post("/api/flows/", flow_body("at-the-limit", LIMIT), "application/json")
    assert response.status_code == 201
    assert Flow.objects.filter(name="at-the-limit").exists()


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_a_413_and_stores_nothing(client):
    response = post_chunked(client, "/api/flows/", flow_body("big", LIMIT + 1))
    assert response.status_code == 413
    assert not Flow.objects.exists()


@pytest.mark.django_db
def test_a_chunked_body_within_the_limit_reaches_the_view(writer):
    response = post_chunked(writer, "/api/flows/", flow_body("chunked", 5000))
    assert response.status_code == 201
    assert Flow.objects.get().name == "chunked"


@pytest.mark.django_db
def test_the_limit_comes_from_the_settings(client, settings):
    settings.CATALOG_MAX_BODY_BYTES = 100
    response = client.post("/api/flows/", flow_body("small", 101), "application/json")
    assert response.json() == {"detail": "Request body too large: the limit is 100 bytes."}


def test_the_admin_gets_the_limit_too(client):
    response = client.post("/admin/login/", {"username": "x" * LIMIT})
    assert response.status_code == 413


# The request log -----------------------------------------------------------------------


def logged_requests(caplog) -> list[dict]:
    return [record.fields for record in caplog.records if record.name == "catalog.requests"]


def test_each_request_logs_one_line_with_what_ops_need(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    client.get("/api/health", HTTP_X_REQUEST_ID="req-1")
    [entry] = logged_requests(caplog)
    assert entry.pop("duration_ms") >= 0
    assert entry == {
        "method": "GET",
        "path": "/api/health",
        "status": 200,
        "remote_addr": "127.0.0.1",
        "user_id": None,
        "key_id": None,
        "bytes_out": 4,
    }


def test_the_line_is_json_with_the_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    client.get("/api/health", HTTP_X_REQUEST_ID="req-2")
    [record] = [record for record in caplog.records if record.name == "catalog.requests"]
    line = json.loads(JsonLineFormatter().format(record))
    assert (line["message"], line["level"], line["status"]) == ("GET /api/health 200", "INFO", 200)


def test_the_logging_settings_write_request_lines_as_json(settings):
    config = settings.LOGGING
    assert config["loggers"]["catalog.requests"]["level"] == "INFO"
    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["formatters"]["json"]["()"] == "catalog.logs.JsonLineFormatter"


def test_the_request_id_is_echoed(client):
    response = client.get("/api/health", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"


@pytest.mark.parametrize("given", [None, "", "has spaces", 'quo"te', "x" * 201])
def test_a_missing_or_unusable_request_id_is_replaced_by_a_new_one(client, given):
    headers = {} if given is None else {"HTTP_X_REQUEST_ID": given}
    request_id = client.get("/api/health", **headers)["X-Request-ID"]
    assert request_id != given and len(request_id) == 32 and int(request_id, 16) >= 0


def test_every_request_gets_an_id_even_a_refused_one(client):
    response = client.post("/api/flows/", flow_body("big", LIMIT + 1), "application/json")
    assert response.status_code == 413 and response["X-Request-ID"]


def test_the_client_address_comes_from_the_trusted_proxy(client, caplog, settings):
    settings.CATALOG_PROXY_COUNT = 1
    caplog.set_level(logging.INFO, logger="catalog.requests")
    client.get("/api/health", HTTP_X_FORWARDED_FOR="198.51.100.7, 203.0.113.9")
    assert logged_requests(caplog)[0]["remote_addr"] == "203.0.113.9"


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    client.get("/api/health", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert logged_requests(caplog)[0]["remote_addr"] == "127.0.0.1"


@pytest.mark.django_db
def test_a_logged_in_users_id_is_logged(admin_client, admin_user, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    admin_client.get("/admin/")
    assert logged_requests(caplog)[0]["user_id"] == admin_user.pk


def log_fields_for(view, caplog) -> dict:
    caplog.set_level(logging.INFO, logger="catalog.requests")
    RequestLogMiddleware(view)(RequestFactory().get("/api/deployments/"))
    return logged_requests(caplog)[0]


def test_an_api_keys_id_is_logged_and_never_the_key(caplog):
    def view(request):
        request.auth = SimpleNamespace(pk=7, key="secret-key")
        return HttpResponse(b"[]")

    assert log_fields_for(view, caplog)["key_id"] == 7
    assert "secret-key" not in caplog.text


def test_logging_never_loads_a_session_user(caplog):
    loads = []

    def view(request):
        request.user = SimpleLazyObject(lambda: loads.append("user"))
        return HttpResponse(b"[]")

    assert log_fields_for(view, caplog)["user_id"] is None
    assert loads == []


def test_bytes_out_counts_a_streamed_static_file(client, caplog):
    caplog.set_level(logging.INFO, logger="catalog.requests")
    response = client.get("/static/admin/css/base.css")
    assert logged_requests(caplog)[0]["bytes_out"] == int(response["Content-Length"]) > 0


# The admin's messages ------------------------------------------------------------------


@pytest.mark.django_db
def test_api_requests_get_no_message_store(client):
    deployment = DeploymentFactory()
    response = client.get(f"/api/deployments/{deployment.id}")
    assert response.status_code == 200
    assert not hasattr(response.wsgi_request, "_messages")


@pytest.mark.django_db
def test_the_admin_still_shows_messages(admin_client):
    deployment = DeploymentFactory()
    response = admin_client.post(
        "/admin/catalog/deployment/",
        {"action": "pause", "_selected_action": [str(deployment.id)]},
        follow=True,
    )
    assert hasattr(response.wsgi_request, "_messages")
    shown = [str(message) for message in response.context["messages"]]
    assert shown == ["1 deployment(s) changed."]
