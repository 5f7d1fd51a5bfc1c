"""Who may call the API (catalog/auth.py): every credential and permission case, with
real `Authorization` headers and sessions."""

import base64
import hashlib
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from catalog.api import urls
from catalog.api.auth import ADDED_WHEN_GONE, READS_SENT_AS_POST, WRITE_PERMISSIONS
from catalog.models import ApiKey, ApiKeyAccess, Flow
from tests.factories import ApiKeyFactory, DeploymentFactory, FlowFactory, WorkPoolFactory

pytestmark = pytest.mark.django_db

NOT_AUTHENTICATED = {
    "detail": "Not authenticated: send an API key as 'Authorization: Bearer <key>'."
}


@pytest.fixture
def keys_required(settings):
    settings.CATALOG_ANONYMOUS_READ = False


@pytest.fixture
def basic_auth_on(settings):
    settings.CATALOG_BASIC_AUTH = True


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post(client, path: str, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def create_flow(client, **headers):
    return post(client, "/api/flows/", {"name": "made-by-a-test"}, **headers)


def user_with(*codenames: str, is_staff: bool = False) -> User:
    user = User.objects.create_user("someone", password="a-password", is_staff=is_staff)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)


def session_of(user: User, **options) -> APIClient:
    client = APIClient(**options)
    client.force_login(user)
    return client


def assert_refused(response, status: int, detail: str) -> None:
    assert (response.status_code, response.json()) == (status, {"detail": detail})


# Reads ---------------------------------------------------------------------------------


def test_anonymous_reads_are_allowed_by_default(anonymous_client):
    deployment = DeploymentFactory()
    assert anonymous_client.get(f"/api/deployments/{deployment.id}").status_code == 200
    response = post(anonymous_client, "/api/deployments/count", {})
    assert (response.status_code, response.json()) == (200, 1)


def test_with_anonymous_reads_off_a_read_is_401_with_a_bearer_challenge(
    anonymous_client, keys_required
):
    response = anonymous_client.get(f"/api/deployments/{DeploymentFactory().id}")
    assert (response.status_code, response.json()) == (401, NOT_AUTHENTICATED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def read_post_path(route: str) -> str:
    in_a_pool = route in ("work-queue-filter", "worker-filter")
    return reverse(route, kwargs={"work_pool_name": "pool"} if in_a_pool else {})


@pytest.mark.parametrize("route", sorted(READS_SENT_AS_POST))
def test_prefects_filter_posts_are_reads_open_to_anyone_by_default(anonymous_client, route):
    WorkPoolFactory(name="pool")
    assert post(anonymous_client, read_post_path(route), {}).status_code == 200


@pytest.mark.parametrize("route", sorted(READS_SENT_AS_POST))
def test_with_anonymous_reads_off_prefects_filter_posts_need_credentials(
    anonymous_client, keys_required, route
):
    assert post(anonymous_client, read_post_path(route), {}).status_code == 401


@pytest.mark.parametrize("path", ["/api/deployments/count", "/api/flows/filter"])
def test_a_read_only_key_reads_prefects_filter_posts(anonymous_client, keys_required, path):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    assert post(anonymous_client, path, {}, **bearer(key.secret)).status_code == 200


def test_with_anonymous_reads_off_a_read_only_key_reads(anonymous_client, keys_required):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    deployment = DeploymentFactory()
    response = anonymous_client.get(f"/api/deployments/{deployment.id}", **bearer(key.secret))
    assert response.json()["id"] == str(deployment.id)


@pytest.mark.parametrize("path", ["/api/health", "/api/ready"])
def test_probes_answer_anyone_even_with_a_wrong_key(anonymous_client, keys_required, path):
    assert anonymous_client.get(path, **bearer("pcat_wrong")).status_code == 200


@pytest.mark.parametrize("path", ["/api/version", "/api/admin/version", "/api/hello"])
def test_the_service_routes_are_reads(anonymous_client, keys_required, path):
    assert anonymous_client.get(path).status_code == 401
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    assert anonymous_client.get(path, **bearer(key.secret)).status_code == 200


def test_the_csrf_token_route_still_says_csrf_is_off(anonymous_client):
    response = anonymous_client.get("/api/csrf-token?client=abc")
    assert_refused(response, 422, "CSRF protection is disabled.")


# Writes with keys ----------------------------------------------------------------------


def test_a_write_without_credentials_is_401_and_changes_nothing(anonymous_client):
    response = create_flow(anonymous_client)
    assert (response.status_code, response.json()) == (401, NOT_AUTHENTICATED)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not Flow.objects.exists()


def test_a_write_key_writes(anonymous_client):
    key = ApiKeyFactory(access=ApiKeyAccess.WRITE)
    assert create_flow(anonymous_client, **bearer(key.secret)).status_code == 201


def test_a_read_only_key_may_not_write(anonymous_client):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    response = create_flow(anonymous_client, **bearer(key.secret))
    assert_refused(response, 403, "This API key is read-only.")
    assert not Flow.objects.exists()


def test_a_wrong_key_is_401_even_where_anonymous_reads_are_allowed(anonymous_client):
    ApiKeyFactory()
    response = anonymous_client.get("/api/admin/version", **bearer("pcat_not-a-key"))
    assert_refused(response, 401, "Invalid API key.")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer two words"])
def test_a_malformed_bearer_header_is_401(anonymous_client, header):
    response = anonymous_client.get("/api/admin/version", HTTP_AUTHORIZATION=header)
    assert_refused(response, 401, "Invalid Authorization header: send 'Bearer <key>'.")


def test_a_revoked_key_is_401(anonymous_client):
    key = ApiKeyFactory(revoked=timezone.now())
    assert_refused(create_flow(anonymous_client, **bearer(key.secret)), 401, "API key revoked.")


def test_an_expired_key_is_401(anonymous_client):
    now = timezone.now()
    key = ApiKeyFactory(created=now - timedelta(days=2), expires=now - timedelta(seconds=1))
    assert_refused(create_flow(anonymous_client, **bearer(key.secret)), 401, "API key expired.")


def test_a_key_works_until_it_expires(anonymous_client):
    key = ApiKeyFactory(expires=timezone.now() + timedelta(hours=1))
    assert create_flow(anonymous_client, **bearer(key.secret)).status_code == 201


def test_a_key_of_a_deactivated_user_is_401(anonymous_client):
    user = user_with("add_flow")
    key = ApiKeyFactory(user=user)
    user.is_active = False
    user.save()
    response = create_flow(anonymous_client, **bearer(key.secret))
    assert_refused(response, 401, "API key of an inactive user.")


def test_a_key_acting_for_a_user_writes_only_what_the_user_may(anonymous_client):
    key = ApiKeyFactory(user=user_with("add_flow"))
    assert create_flow(anonymous_client, **bearer(key.secret)).status_code == 201
    flow = Flow.objects.get()
    response = anonymous_client.delete(f"/api/flows/{flow.id}", **bearer(key.secret))
    detail = "Permission denied: this needs catalog.delete_flow and catalog.delete_deployment."
    assert_refused(response, 403, detail)


def test_a_read_only_key_stays_read_only_for_a_superuser(anonymous_client):
    superuser = User.objects.create_superuser("root", password="a-password")
    key = ApiKeyFactory(user=superuser, access=ApiKeyAccess.READ)
    assert create_flow(anonymous_client, **bearer(key.secret)).status_code == 403


# Writes with users ---------------------------------------------------------------------


def test_a_view_only_staff_session_reads_but_may_not_write(keys_required):
    staff = session_of(user_with("view_deployment", "view_flow", is_staff=True))
    deployment = DeploymentFactory()
    assert staff.get(f"/api/deployments/{deployment.id}").status_code == 200
    response = staff.patch(f"/api/deployments/{deployment.id}", {"paused": True}, format="json")
    assert_refused(response, 403, "Permission denied: this needs catalog.change_deployment.")
    deployment.refresh_from_db()
    assert not deployment.paused


def test_a_user_with_the_change_permission_changes_but_does_not_delete():
    staff = session_of(user_with("change_deployment", is_staff=True))
    deployment = DeploymentFactory()
    path = f"/api/deployments/{deployment.id}"
    assert staff.patch(path, {"paused": True}, format="json").status_code == 204
    deployment.refresh_from_db()
    assert deployment.paused
    assert staff.delete(path).status_code == 403


def test_the_deployment_upsert_needs_add_and_change():
    staff = session_of(user_with("add_deployment", is_staff=True))
    response = post(staff, "/api/deployments/", {"name": "d", "flow_id": str(FlowFactory().id)})
    detail = "Permission denied: this needs catalog.add_deployment and catalog.change_deployment."
    assert_refused(response, 403, detail)


def test_a_session_that_is_not_staff_is_no_credential(keys_required):
    user = user_with("change_deployment")
    assert session_of(user).get("/api/admin/version").status_code == 401


def test_a_staff_session_write_needs_the_csrf_token():
    staff = session_of(user_with("add_flow", is_staff=True), enforce_csrf_checks=True)
    response = create_flow(staff)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    staff.cookies["csrftoken"] = token = "t" * 32
    assert create_flow(staff, HTTP_X_CSRFTOKEN=token).status_code == 201


# Basic auth (PREFECT_API_AUTH_STRING) --------------------------------------------------


def test_basic_auth_when_on_writes_as_the_user(anonymous_client, basic_auth_on):
    user_with("add_flow")
    assert create_flow(anonymous_client, **basic("someone", "a-password")).status_code == 201


def test_basic_auth_with_a_wrong_password_is_401(anonymous_client, basic_auth_on):
    user_with("add_flow")
    response = create_flow(anonymous_client, **basic("someone", "wrong"))
    assert_refused(response, 401, "Invalid username/password.")


def test_basic_auth_still_needs_the_model_permission(anonymous_client, basic_auth_on):
    user_with("view_flow")
    response = create_flow(anonymous_client, **basic("someone", "a-password"))
    assert_refused(response, 403, "Permission denied: this needs catalog.add_flow.")


def test_basic_auth_is_ignored_when_off(anonymous_client):
    user_with("add_flow")
    response = create_flow(anonymous_client, **basic("someone", "a-password"))
    assert (response.status_code, response.json()) == (401, NOT_AUTHENTICATED)


# Routes and methods --------------------------------------------------------------------


def url_patterns() -> list[URLPattern]:
    return [p for p in urls.urlpatterns if hasattr(p.callback, "view_class")]


def unsafe_handlers() -> list[tuple[str, str]]:
    return [
        (pattern.name, method.upper())
        for pattern in url_patterns()
        if issubclass(pattern.callback.view_class, APIView)
        for method in ("post", "put", "patch", "delete")
        if hasattr(pattern.callback.view_class, method)
    ]


def test_every_unsafe_handler_is_a_read_or_names_its_permissions():
    for name, method in unsafe_handlers():
        is_read = method == "POST" and name in READS_SENT_AS_POST
        assert is_read or method in WRITE_PERMISSIONS.get(name, {}), (name, method)


def test_every_permission_named_exists():
    catalog_permissions = Permission.objects.filter(content_type__app_label="catalog")
    existing = {f"catalog.{permission.codename}" for permission in catalog_permissions}
    for methods in WRITE_PERMISSIONS.values():
        for needed in methods.values():
            assert set(needed) <= existing, needed
    for needed in ADDED_WHEN_GONE.values():
        assert set(needed) <= existing, needed


def test_a_method_a_route_lacks_is_still_405(anonymous_client, api_client):
    flow = FlowFactory()
    assert anonymous_client.put(f"/api/flows/{flow.id}", {}, format="json").status_code == 405
    assert api_client.put(f"/api/flows/{flow.id}", {}, format="json").status_code == 405


# Keys: storage, last use, cost ---------------------------------------------------------


def test_a_key_is_stored_only_as_its_sha256_digest():
    key = ApiKeyFactory()
    stored = ApiKey.objects.filter(pk=key.pk).values().get()
    assert stored["digest"] == hashlib.sha256(key.secret.encode()).hexdigest()
    assert key.secret not in repr(stored)
    assert key.secret.startswith(stored["prefix"]) and len(stored["prefix"]) == 12


def test_the_first_use_records_the_time(anonymous_client):
    key = ApiKeyFactory()
    anonymous_client.get("/api/admin/version", **bearer(key.secret))
    key.refresh_from_db()
    assert timezone.now() - key.last_used < timedelta(seconds=5)


def test_the_last_used_time_moves_at_most_once_a_minute(anonymous_client):
    recent = timezone.now() - timedelta(seconds=30)
    key = ApiKeyFactory(last_used=recent)
    anonymous_client.get("/api/admin/version", **bearer(key.secret))
    key.refresh_from_db()
    assert key.last_used == recent
    ApiKey.objects.filter(pk=key.pk).update(last_used=recent - timedelta(minutes=1))
    anonymous_client.get("/api/admin/version", **bearer(key.secret))
    key.refresh_from_db()
    assert key.last_used > recent


def queries_for(request) -> int:
    """The queries `request` makes once repeated: a first read renders and keeps the
    deployment's JSON, later ones read what was kept."""
    request()
    with CaptureQueriesContext(connection) as captured:
        request()
    return len(captured)


@pytest.fixture
def deployment_path() -> str:
    return f"/api/deployments/{DeploymentFactory().id}"


def test_a_key_costs_one_query_a_request(
    anonymous_client, deployment_path, django_assert_num_queries
):
    anonymous = queries_for(lambda: anonymous_client.get(deployment_path))
    key = ApiKeyFactory(last_used=timezone.now())
    with django_assert_num_queries(anonymous + 1):
        anonymous_client.get(deployment_path, **bearer(key.secret))


def test_a_keys_first_use_in_a_minute_costs_one_write_more(
    anonymous_client, deployment_path, django_assert_num_queries
):
    anonymous = queries_for(lambda: anonymous_client.get(deployment_path))
    key = ApiKeyFactory()
    with django_assert_num_queries(anonymous + 2):
        anonymous_client.get(deployment_path, **bearer(key.secret))
    with django_assert_num_queries(anonymous + 1):
        anonymous_client.get(deployment_path, **bearer(key.secret))


def test_a_write_with_a_key_costs_one_query_more_than_the_write(
    anonymous_client, api_client, django_assert_num_queries
):
    flow = FlowFactory()
    path = f"/api/flows/{flow.id}"
    # Each write a change, which the history records (the first also records the factory's
    # row, written outside every door).
    tags = iter(["a", "b"])
    written = queries_for(lambda: api_client.patch(path, {"tags": [next(tags)]}, format="json"))
    key = ApiKeyFactory(last_used=timezone.now())
    with django_assert_num_queries(written + 1):
        anonymous_client.patch(path, {"tags": ["c"]}, format="json", **bearer(key.secret))


def test_basic_auth_once_verified_costs_two_queries_a_read(
    anonymous_client, basic_auth_on, deployment_path, django_assert_num_queries
):
    anonymous = queries_for(lambda: anonymous_client.get(deployment_path))
    user_with()
    anonymous_client.get(deployment_path, **basic("someone", "a-password"))
    # The login throttle's count, and the verified credentials with their user.
    with django_assert_num_queries(anonymous + 2):
        anonymous_client.get(deployment_path, **basic("someone", "a-password"))


def test_a_session_costs_its_session_and_user_queries(
    anonymous_client, deployment_path, django_assert_num_queries
):
    anonymous = queries_for(lambda: anonymous_client.get(deployment_path))
    staff = session_of(user_with(is_staff=True))
    with django_assert_num_queries(anonymous + 2):
        staff.get(deployment_path)
