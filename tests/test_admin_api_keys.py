"""API keys in the admin: made with the secret shown once, listed, revoked."""

import re
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import ApiKey, ApiKeyAccess, api_key_digest
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:catalog_apikey_changelist")
ADD = reverse("admin:catalog_apikey_add")


def add_key(client, **fields):
    return client.post(ADD, {"name": "ci-deploy", "access": "write", **fields})


def shown_secret(response) -> str:
    return re.search(r'id="api-key-secret"[^>]*value="([^"]+)"', response.content.decode())[1]


@pytest.fixture
def staff_client(client):
    """A staff user who may manage API keys, but is no superuser."""
    user = User.objects.create_user("ops", password="a-password", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__endswith="_apikey"))
    client.force_login(user)
    return client


def test_the_list_add_and_change_pages_open(admin_client):
    key = ApiKeyFactory()
    for url in (CHANGELIST, ADD, reverse("admin:catalog_apikey_change", args=[key.pk])):
        assert admin_client.get(url).status_code == 200, url


def test_the_list_shows_what_staff_identify_keys_by(admin_client, admin_user):
    key = ApiKeyFactory(name="nightly-etl", user=admin_user, access=ApiKeyAccess.READ)
    page = admin_client.get(CHANGELIST).content.decode()
    for text in ["nightly-etl", key.prefix, "read only", "admin", "Last used", "Revoked"]:
        assert text in page, text
    assert key.secret not in page


def test_adding_a_key_shows_its_secret_once_and_stores_its_digest(admin_client):
    response = add_key(admin_client)
    assert response.status_code == 200
    secret = shown_secret(response)
    key = ApiKey.objects.get()
    assert (key.name, key.access, key.digest) == ("ci-deploy", "write", api_key_digest(secret))
    assert f"PREFECT_API_KEY={secret}" in response.content.decode()
    change_page = admin_client.get(reverse("admin:catalog_apikey_change", args=[key.pk]))
    assert secret not in change_page.content.decode()


def test_the_secret_shown_works_with_the_api(admin_client, anonymous_client):
    secret = shown_secret(add_key(admin_client))
    response = anonymous_client.post(
        "/api/flows/", {"name": "f"}, format="json", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert response.status_code == 201


def test_adding_a_key_leaves_a_history_entry_without_the_secret(admin_client):
    secret = shown_secret(add_key(admin_client))
    entry = LogEntry.objects.get()
    assert entry.object_repr.startswith("ci-deploy (pcat_")
    assert secret not in entry.object_repr + entry.change_message


def test_a_superuser_may_make_a_key_act_for_another_user(admin_client):
    other = User.objects.create_user("deployer")
    add_key(admin_client, user=other.pk)
    assert ApiKey.objects.get().user == other


def test_staff_make_keys_only_for_themselves_and_see_only_theirs(staff_client):
    other = User.objects.create_user("deployer")
    ApiKeyFactory(name="someone-elses", user=other)
    assert add_key(staff_client, user=other.pk).status_code == 200
    assert ApiKey.objects.get(name="ci-deploy").user.username == "ops"
    page = staff_client.get(CHANGELIST).content.decode()
    assert "ci-deploy" in page and "someone-elses" not in page


def test_a_past_expiry_is_a_form_error(admin_client):
    response = add_key(admin_client, expires_0="2020-01-01", expires_1="00:00:00")
    assert "Pick a time in the future, or revoke the key." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_name_taken_by_a_valid_key_is_a_form_error_but_a_revoked_ones_is_free(admin_client):
    ApiKeyFactory(name="ci-deploy")
    response = add_key(admin_client)
    assert "A key that is not revoked already has this name." in response.content.decode()
    ApiKey.objects.revoke(timezone.now())
    assert add_key(admin_client).status_code == 200
    assert ApiKey.objects.filter(name="ci-deploy").count() == 2


def test_what_a_key_may_do_is_fixed_once_made(admin_client):
    key = ApiKeyFactory(access=ApiKeyAccess.READ)
    url = reverse("admin:catalog_apikey_change", args=[key.pk])
    admin_client.post(url, {"name": "renamed", "access": "write"})
    key.refresh_from_db()
    assert (key.name, key.access) == ("renamed", ApiKeyAccess.READ)


def revoke(client, keys):
    data = {"action": "revoke", "_selected_action": [key.pk for key in keys]}
    return client.post(CHANGELIST, data)


def test_revoking_stops_the_keys_and_leaves_history(admin_client, anonymous_client):
    keys = ApiKeyFactory.create_batch(2)
    kept = ApiKeyFactory()
    assert revoke(admin_client, keys).status_code == 302
    assert set(ApiKey.objects.filter(revoked__isnull=False)) == set(keys)
    assert LogEntry.objects.filter(change_message__contains="Revoked").count() == 2
    for key, status in [(keys[0], 401), (kept, 200)]:
        auth = f"Bearer {key.secret}"
        assert anonymous_client.get("/api/hello", HTTP_AUTHORIZATION=auth).status_code == status


def test_revoking_again_keeps_the_first_revocation_time(admin_client):
    first = timezone.now() - timedelta(days=1)
    key = ApiKeyFactory(created=first - timedelta(days=1), revoked=first)
    revoke(admin_client, [key])
    key.refresh_from_db()
    assert key.revoked == first


def test_a_view_only_user_cannot_revoke(client, admin_user):
    viewer = User.objects.create_user("viewer", password="a-password", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_apikey"))
    client.force_login(viewer)
    key = ApiKeyFactory(user=viewer)
    revoke(client, [key])
    key.refresh_from_db()
    assert key.revoked is None


@pytest.mark.parametrize(
    ("state", "expected"), [("valid", {"valid"}), ("expired", {"expired"}), ("revoked", {"old"})]
)
def test_the_state_filter(admin_client, state, expected):
    now = timezone.now()
    ApiKeyFactory(name="valid", expires=now + timedelta(days=1))
    ApiKeyFactory(name="expired", created=now - timedelta(days=2), expires=now)
    ApiKeyFactory(name="old", revoked=now)
    listed = admin_client.get(CHANGELIST, {"state": state}).context["cl"].result_list
    assert {key.name for key in listed} == expected


def test_the_list_query_count_does_not_grow_with_keys(admin_client, admin_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(CHANGELIST)
        return len(captured)

    ApiKeyFactory(user=admin_user)
    few = queries()
    ApiKeyFactory.create_batch(20, user=admin_user)
    assert queries() == few
