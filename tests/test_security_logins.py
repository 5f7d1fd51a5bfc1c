"""Login throttling (django-axes) for the admin's login form and for basic auth, and the
short-lived cache of verified basic auth credentials (catalog/api/logins.py,
catalog/models/credentials.py). Every test runs with the production settings'
defaults: 5 failures, a 15-minute cool-off, a 60-second cache."""

import base64
import hashlib
import io
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Flow, VerifiedCredential
from catalog.models.credentials import credentials_digest

pytestmark = pytest.mark.django_db

STAFF_ADDRESS = "198.51.100.7"
ELSEWHERE = "203.0.113.9"
PASSWORD = "the-right-password"
WRONG_LOGIN = "Please enter the correct username and password for a staff account."
LOCKED_OUT_PAGE = "Too many failed logins for this username from your address"
INVALID = {"detail": "Invalid username/password."}
LOCKED_OUT = {
    "detail": "Too many failed logins for this username from your address: locked out for "
    "up to 15 minutes after the last counted failure. An administrator can unlock it sooner."
}


class CountingHasher(MD5PasswordHasher):
    """A real hasher that counts the passwords it verifies."""

    verified = 0

    def verify(self, password, encoded):
        CountingHasher.verified += 1
        return super().verify(password, encoded)


@pytest.fixture(autouse=True)
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.test_security_logins.CountingHasher"]
    CountingHasher.verified = 0
    return CountingHasher


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("ops", password=PASSWORD)


@pytest.fixture
def deployer(settings) -> User:
    settings.CATALOG_BASIC_AUTH = True
    user = User.objects.create_user("deployer", password=PASSWORD)
    user.user_permissions.set(Permission.objects.filter(codename="add_flow"))
    return user


def admin_login(client, password: str, address: str = STAFF_ADDRESS, **headers):
    form = {"username": "ops", "password": password, "next": "/admin/"}
    return client.post("/admin/login/", form, REMOTE_ADDR=address, **headers)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail_admin_logins(client, times: int, address: str = STAFF_ADDRESS, **headers) -> list:
    return [admin_login(client, "wrong", address, **headers) for _ in range(times)]


def basic(password: str, username: str = "deployer") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def create_flow(client, password: str, address: str = STAFF_ADDRESS, username="deployer"):
    return client.post(
        "/api/flows/",
        {"name": "made-with-basic-auth"},
        "application/json",
        HTTP_AUTHORIZATION=basic(password, username),
        REMOTE_ADDR=address,
    )


def read_flows(client, password: str, address: str = STAFF_ADDRESS):
    return client.post(
        "/api/flows/filter",
        {},
        "application/json",
        HTTP_AUTHORIZATION=basic(password),
        REMOTE_ADDR=address,
    )


# The admin's login ----------------------------------------------------------------------


def test_it_refuses_the_right_password_after_five_wrong_ones(client, staff):
    answers = fail_admin_logins(client, 5)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200, 429]
    assert all(WRONG_LOGIN in answer.text for answer in answers[:4])
    right = admin_login(client, PASSWORD)
    assert right.status_code == 429
    assert LOCKED_OUT_PAGE in right.text
    assert "After 5 failed logins in a row" in right.text
    assert not logged_in(client)


def test_four_wrong_passwords_then_the_right_one_log_in_and_clear_the_count(client, staff):
    fail_admin_logins(client, 4)
    assert admin_login(client, PASSWORD)["Location"] == "/admin/"
    assert not AccessAttempt.objects.exists()


def test_the_right_password_still_works_from_another_address(client, staff):
    fail_admin_logins(client, 5)
    response = admin_login(client, PASSWORD, address=ELSEWHERE)
    assert (response.status_code, response["Location"]) == (302, "/admin/")
    assert logged_in(client)


def test_the_lockout_ends_with_the_cooloff(client, staff):
    fail_admin_logins(client, 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert admin_login(client, PASSWORD)["Location"] == "/admin/"


def test_a_locked_out_try_is_not_counted(client, staff):
    fail_admin_logins(client, 8)
    assert AccessAttempt.objects.get().failures_since_start == 5


def test_it_counts_the_address_the_trusted_proxy_gives(client, staff, settings):
    settings.CATALOG_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    fail_admin_logins(client, 5, proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.1, {STAFF_ADDRESS}")
    assert AccessAttempt.objects.get().ip_address == STAFF_ADDRESS
    forged = admin_login(
        client, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.50, {STAFF_ADDRESS}"
    )
    assert forged.status_code == 429
    elsewhere = admin_login(client, PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)
    assert elsewhere["Location"] == "/admin/"


def test_a_forwarded_address_that_is_no_address_is_stored_as_none(client, staff, settings):
    settings.CATALOG_PROXY_COUNT = 1
    response = admin_login(client, "wrong", HTTP_X_FORWARDED_FOR="not-an-address")
    assert WRONG_LOGIN in response.text
    assert AccessAttempt.objects.get().ip_address is None


def test_the_reset_command_unlocks_a_username(client, staff):
    fail_admin_logins(client, 5)
    out = io.StringIO()
    call_command("axes_reset_username", "ops", stdout=out)
    assert out.getvalue() == "1 attempts removed.\n"
    assert admin_login(client, PASSWORD)["Location"] == "/admin/"


def test_staff_unlock_a_username_in_the_admin(client, admin_client, staff):
    fail_admin_logins(client, 5)
    attempt = AccessAttempt.objects.get()
    changelist = "/admin/axes/accessattempt/"
    listed = admin_client.get(changelist)
    assert "Locked Out" in listed.text and STAFF_ADDRESS in listed.text
    form = {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"}
    assert admin_client.post(changelist, form).status_code == 302
    assert not AccessAttempt.objects.exists()
    assert admin_login(client, PASSWORD)["Location"] == "/admin/"


# Basic auth (PREFECT_API_AUTH_STRING) ---------------------------------------------------


def test_basic_auth_locks_out_after_five_wrong_passwords(client, deployer):
    answers = [create_flow(client, "wrong") for _ in range(5)]
    assert [answer.status_code for answer in answers] == [401] * 5
    assert [answer.json() for answer in answers] == [INVALID] * 4 + [LOCKED_OUT]
    right = create_flow(client, PASSWORD)
    assert (right.status_code, right.json()) == (401, LOCKED_OUT)
    assert not Flow.objects.exists()


def test_a_locked_out_basic_auth_login_costs_no_password_hash(client, deployer):
    [create_flow(client, "wrong") for _ in range(5)]
    CountingHasher.verified = 0
    assert create_flow(client, PASSWORD).json() == LOCKED_OUT
    assert CountingHasher.verified == 0


def test_basic_auth_still_works_from_another_address(client, deployer):
    [create_flow(client, "wrong") for _ in range(5)]
    assert create_flow(client, PASSWORD, address=ELSEWHERE).status_code == 201


def test_basic_auth_failures_are_cleared_by_a_success(client, deployer):
    [create_flow(client, "wrong") for _ in range(4)]
    assert read_flows(client, PASSWORD).status_code == 200
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("username", ["u" * 300, "dep\x00loyer"], ids=["too-long", "nul"])
def test_a_username_no_user_can_have_is_refused_without_a_database_error(
    client, deployer, username
):
    response = create_flow(client, "wrong", username=username)
    assert (response.status_code, response.json()) == (401, INVALID)
    assert not AccessAttempt.objects.exists()


# The cache of verified basic auth credentials -------------------------------------------


def test_verified_credentials_are_not_hashed_again(client, deployer, django_assert_num_queries):
    assert read_flows(client, PASSWORD).status_code == 200
    assert CountingHasher.verified == 1
    # The verified credentials with their user, the login throttle's count, the flows.
    with django_assert_num_queries(3):
        assert read_flows(client, PASSWORD).status_code == 200
    assert CountingHasher.verified == 1


def test_cached_credentials_are_refused_too_while_locked_out(client, deployer):
    assert read_flows(client, PASSWORD, address=ELSEWHERE).status_code == 200
    [read_flows(client, "wrong") for _ in range(5)]
    response = read_flows(client, PASSWORD)
    assert (response.status_code, response.json()) == (401, LOCKED_OUT)
    assert CountingHasher.verified == 1 + 5  # the first login and the wrong ones only
    assert read_flows(client, PASSWORD, address=ELSEWHERE).status_code == 200


def test_a_wrong_password_is_hashed_every_time(client, deployer):
    read_flows(client, PASSWORD)
    [read_flows(client, "wrong") for _ in range(2)]
    assert CountingHasher.verified == 3


def test_the_cache_holds_for_sixty_seconds(client, deployer):
    read_flows(client, PASSWORD)
    row = VerifiedCredential.objects.get()
    assert timedelta(seconds=59) < row.expires - timezone.now() <= timedelta(seconds=60)
    VerifiedCredential.objects.update(expires=timezone.now())
    assert read_flows(client, PASSWORD).status_code == 200
    assert CountingHasher.verified == 2


def test_a_password_change_drops_the_cached_credentials(client, deployer):
    read_flows(client, PASSWORD)
    deployer.set_password("a-new-password")
    deployer.save()
    response = read_flows(client, PASSWORD)
    assert (response.status_code, response.json()) == (401, INVALID)
    assert CountingHasher.verified == 2
    assert read_flows(client, "a-new-password").status_code == 200


def test_a_deactivated_user_is_refused_at_once(client, deployer):
    read_flows(client, PASSWORD)
    User.objects.filter(pk=deployer.pk).update(is_active=False)
    response = read_flows(client, PASSWORD)
    assert (response.status_code, response.json()) == (401, INVALID)


def test_the_cache_keeps_no_password_nor_a_plain_hash_of_one(client, deployer, settings):
    read_flows(client, PASSWORD)
    row = VerifiedCredential.objects.get()
    stored = f"{row.digest} {row.seal}"
    plain_hashes = [
        hashlib.sha256(text.encode()).hexdigest() for text in (PASSWORD, f"deployer:{PASSWORD}")
    ]
    assert PASSWORD not in stored and not any(digest in stored for digest in plain_hashes)
    assert deployer.password not in stored
    assert row.digest == credentials_digest("deployer", PASSWORD)
    settings.SECRET_KEY = "another-secret-key-gives-another-digest"
    assert credentials_digest("deployer", PASSWORD) != row.digest


def test_the_cache_can_be_turned_off(client, deployer, settings):
    settings.CATALOG_BASIC_AUTH_CACHE_SECONDS = 0
    [read_flows(client, PASSWORD) for _ in range(2)]
    assert CountingHasher.verified == 2
    assert not VerifiedCredential.objects.exists()
