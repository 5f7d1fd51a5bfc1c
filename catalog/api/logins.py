"""Login throttling for the admin's login form and for basic auth (django-axes), and the
basic auth check with its short-lived cache of verified credentials. The admin's lockout
page is catalog/admin/logins.py.

Failures are counted per username and client address together (AXES_LOCKOUT_PARAMETERS),
the address being the one the trusted proxies give (`client_address`,
CATALOG_PROXY_COUNT): wrong passwords sent from elsewhere lock out that elsewhere only.
The CATALOG_LOGIN_FAILURE_LIMIT-th failure in a row locks the pair out for
CATALOG_LOGIN_COOLOFF_MINUTES; the lockout is checked before any password is hashed.
Staff unlock users in the admin (Axes, Access attempts: delete the rows) or with
`manage.py axes_reset_username <username>`.
"""

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_credentials
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import exceptions

from catalog.models import VerifiedCredential

INVALID_CREDENTIALS = "Invalid username/password."


def lockout_message() -> str:
    minutes = settings.CATALOG_LOGIN_COOLOFF_MINUTES
    return (
        f"Too many failed logins for this username from your address: locked out for up "
        f"to {minutes} minutes after the last counted failure. An administrator can unlock "
        "it sooner."
    )


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout check, first of the authentication backends. `authenticate()`
    without a request comes from code (a shell, a test client's `login`), never from a
    login over HTTP, so it has nothing to count."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


class LockedOut(exceptions.AuthenticationFailed):
    """A 401, not a 429: the Prefect client retries a 429 five times over about a minute
    (PREFECT_CLIENT_MAX_RETRIES) before it gives up, and a lockout outlasts that; a 401
    stops it at once with this message."""


def username_max_length() -> int:
    return get_user_model()._meta.get_field("username").max_length


def verified_basic_auth_user(request: HttpRequest, username: str, password: str):
    """The active user these basic auth credentials name, behind django-axes' lockout
    check: from the credentials verified in the last CATALOG_BASIC_AUTH_CACHE_SECONDS (two
    queries, no password hash), else from the password hasher. Raises a 401 otherwise."""
    now = timezone.now()
    user = VerifiedCredential.objects.user_for(username, password, now)
    if user is not None:
        # Checked on a hit too, or a locked-out address could go on guessing for free
        # while a client elsewhere keeps the right password cached.
        if not may_try_to_log_in(request, username):
            raise LockedOut(lockout_message())
        return user
    if "\x00" in username or len(username) > username_max_length():
        raise exceptions.AuthenticationFailed(INVALID_CREDENTIALS)  # no user has such a name
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(lockout_message())
    if user is None:
        raise exceptions.AuthenticationFailed(INVALID_CREDENTIALS)
    login_succeeded(request, user, username, password, now)
    return user


def may_try_to_log_in(request: HttpRequest, username: str) -> bool:
    if not settings.AXES_ENABLED:
        return True
    return AxesProxyHandler.is_allowed(request, get_credentials(username))


def login_succeeded(request: HttpRequest, user, username: str, password: str, now) -> None:
    """Clear the pair's failures, as an admin login does (AXES_RESET_ON_SUCCESS), and
    remember the verified credentials."""
    if settings.AXES_ENABLED:
        throttle = AxesProxyHandler.get_implementation()
        throttle.reset_user_attempts(request, get_credentials(username))
    seconds = settings.CATALOG_BASIC_AUTH_CACHE_SECONDS
    if seconds > 0:
        VerifiedCredential.objects.remember(user, username, password, now, seconds)
