"""Who may call the API: the credentials the Prefect client already sends, and the rule
that reads may be anonymous (CATALOG_ANONYMOUS_READ) while every write needs a key or a
user with the model permission.

- `Authorization: Bearer <key>` (PREFECT_API_KEY): an `ApiKey` made in the admin.
- `Authorization: Basic …` (PREFECT_API_AUTH_STRING "user:password"): a Django user,
  when CATALOG_BASIC_AUTH is on.
- A logged-in staff user's session, for same-origin browser use (writes need the CSRF
  token).

Credentials that are sent but wrong are a 401 on every route but the probes (`/health`,
`/ready`), even where anonymous reads are allowed, so a misconfigured client learns it at
once. Refusals have Prefect's `{"detail": …}` body.
"""

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    BasicAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from catalog.api.logins import verified_basic_auth_user
from catalog.models import ApiKey, ApiKeyAccess, Deployment, api_key_digest

NOT_AUTHENTICATED = "Not authenticated: send an API key as 'Authorization: Bearer <key>'."

# Prefect's reads that are POSTs, because their filters travel in the body: they need no
# write permission, and they may read from a replica (catalog.api.middleware).
READS_SENT_AS_POST = frozenset(
    {
        "flow-filter",
        "flow-count",
        "flow-paginate",
        "deployment-filter",
        "deployment-count",
        "deployment-paginate",
        "concurrency-limit-filter",
        "work-pool-filter",
        "work-queue-filter",
        "work-queues-filter",
        "worker-filter",
        "variable-filter",
        "variable-count",
        "flow-run-filter",
        "flow-run-count",
        "flow-run-paginate",
        "task-run-filter",
        "task-run-count",
        "task-run-paginate",
        "block-document-filter",
        "block-document-count",
        "block-type-filter",
        "artifact-filter",
        "artifact-count",
        "latest-artifact-filter",
        "latest-artifact-count",
        "automation-filter",
        "automation-count",
        "tag-concurrency-limit-filter",
    }
)


def catalog_permissions(*codenames: str) -> tuple[str, ...]:
    return tuple(f"catalog.{codename}" for codename in codenames)


VARIABLE_WRITES = {
    "PATCH": catalog_permissions("change_variable"),
    "DELETE": catalog_permissions("delete_variable"),
}
# The model permissions each write needs, by route name and method. A route missing here
# refuses writes (tests/test_auth.py checks that every route is listed).
WRITE_PERMISSIONS = {
    "flow-create": {"POST": catalog_permissions("add_flow")},
    "flow-detail": {
        "PATCH": catalog_permissions("change_flow"),
        # Deleting a flow deletes its deployments.
        "DELETE": catalog_permissions("delete_flow", "delete_deployment"),
    },
    # An upsert: it may create a deployment or change one.
    "deployment-list": {"POST": catalog_permissions("add_deployment", "change_deployment")},
    "deployment-detail": {
        "PATCH": catalog_permissions("change_deployment"),
        "DELETE": catalog_permissions("delete_deployment"),
    },
    "deployment-bulk-delete": {"POST": catalog_permissions("delete_deployment")},
    # A worker's poll marks the deployments READY.
    "deployment-scheduled-runs": {"POST": catalog_permissions("change_deployment")},
    "deployment-pause": {"POST": catalog_permissions("change_deployment")},
    "deployment-resume": {"POST": catalog_permissions("change_deployment")},
    "deployment-schedules": {"POST": catalog_permissions("add_deploymentschedule")},
    # Restoring a deleted deployment also adds it (`ADDED_WHEN_GONE`).
    "deployment-restore": {"POST": catalog_permissions("change_deployment")},
    "deployment-schedule-detail": {
        "PATCH": catalog_permissions("change_deploymentschedule"),
        "DELETE": catalog_permissions("delete_deploymentschedule"),
    },
    "concurrency-limit-create": {"POST": catalog_permissions("add_concurrencylimit")},
    "concurrency-limit-detail": {
        "PATCH": catalog_permissions("change_concurrencylimit"),
        "DELETE": catalog_permissions("delete_concurrencylimit"),
    },
    "work-pool-create": {"POST": catalog_permissions("add_workpool")},
    # Deleting a pool deletes its queues, and its deployments lose their queue.
    "work-pool-detail": {
        "PATCH": catalog_permissions("change_workpool"),
        "DELETE": catalog_permissions("delete_workpool", "delete_workqueue", "change_deployment"),
    },
    "work-pool-queue-create": {"POST": catalog_permissions("add_workqueue")},
    # Giving a new queue a taken priority moves the pool's other queues down.
    "work-queue-detail": {
        "PATCH": catalog_permissions("change_workqueue"),
        "DELETE": catalog_permissions("delete_workqueue"),
    },
    # Writes the catalog refuses or that change nothing here (it keeps no runs and no
    # automations): any write credentials reach the answer.
    "deployment-create-flow-run": {"POST": ()},
    "automation-create": {"POST": ()},
    "tag-concurrency-limit-create": {"POST": ()},
    "automations-owned-by": {"DELETE": ()},
    "variable-create": {"POST": catalog_permissions("add_variable")},
    "variable-detail": VARIABLE_WRITES,
    "variable-by-name": VARIABLE_WRITES,
}
# Writes that make the deployment of their path again when it is gone, so also need to add.
ADDED_WHEN_GONE = {"deployment-restore": catalog_permissions("add_deployment")}


def bearer_key(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header, if the request has one."""
    scheme, _, key = get_authorization_header(request).decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        return None
    key = key.strip()
    if not key or " " in key:
        raise exceptions.AuthenticationFailed("Invalid Authorization header: send 'Bearer <key>'.")
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer <key>`: one indexed query, and a last-used write at most
    once a minute. The request's user is the key's user (None for a key of its own)."""

    def authenticate(self, request: Request):
        raw_key = bearer_key(request)
        if raw_key is None:
            return None
        try:
            # From the primary, named outright: a revocation counts at once, even for a
            # request whose reads go to a replica.
            keys = ApiKey.objects.using(DEFAULT_DB_ALIAS).select_related("user")
            key = keys.get(digest=api_key_digest(raw_key))
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        now = timezone.now()
        refusal = key.refusal(now)
        if refusal:
            raise exceptions.AuthenticationFailed(refusal)
        key.mark_used(now)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        # The challenge of every 401; Bearer, so that browsers show no password prompt.
        return 'Bearer realm="api"'


class UserBasicAuthentication(BasicAuthentication):
    """`Authorization: Basic …` checked against Django users when CATALOG_BASIC_AUTH is
    on, behind the login throttle and with a short-lived cache of verified credentials
    (catalog/api/logins.py). Off, the header is ignored: a proxy in front may be using it
    for itself."""

    def authenticate(self, request: Request):
        if not settings.CATALOG_BASIC_AUTH:
            return None
        return super().authenticate(request)

    def authenticate_credentials(self, userid: str, password: str, request: Request = None):
        # Django's request, not DRF's: django-axes marks it, and its AxesMiddleware reads
        # the mark there.
        return verified_basic_auth_user(request._request, userid, password), None


class StaffSessionAuthentication(SessionAuthentication):
    """The session of a logged-in, active staff user, as the admin makes it."""

    def authenticate(self, request: Request):
        user = getattr(request._request, "user", None)
        if user is None or not (user.is_active and user.is_staff):
            return None
        self.enforce_csrf(request)
        return user, None


def is_authenticated(request: Request) -> bool:
    return request.successful_authenticator is not None


def is_read(request: Request, view) -> bool:
    if request.method in ("GET", "HEAD"):
        return True
    handler = request.method.lower()
    if handler not in view.http_method_names or not hasattr(view, handler):
        return True  # a method the route lacks: the view answers 405
    return request.method == "POST" and route_name(request) in READS_SENT_AS_POST


def route_name(request: Request) -> str | None:
    match = request.resolver_match
    return match.url_name if match else None


def write_refusal(request: Request, needed: tuple[str, ...]) -> str | None:
    """Why the request's credentials may not make a write needing `needed`, if they may not."""
    key = request.auth if isinstance(request.auth, ApiKey) else None
    if key is not None and key.access != ApiKeyAccess.WRITE:
        return "This API key is read-only."
    user = request.user
    if key is not None and user is None:
        return None  # a write key of its own, acting for no user
    if user is not None and user.has_perms(needed):
        return None
    return f"Permission denied: this needs {' and '.join(needed)}."


def permissions_needed(request: Request) -> tuple[str, ...] | None:
    """What a write needs, by its route (`WRITE_PERMISSIONS`, `ADDED_WHEN_GONE`)."""
    name = route_name(request)
    needed = WRITE_PERMISSIONS.get(name, {}).get(request.method)
    if needed is not None and name in ADDED_WHEN_GONE and deployment_is_gone(request):
        needed = (*ADDED_WHEN_GONE[name], *needed)
    return needed


def deployment_is_gone(request: Request) -> bool:
    deployment_id = request.resolver_match.kwargs["id"]
    return not Deployment.objects.using(DEFAULT_DB_ALIAS).filter(id=deployment_id).exists()


class CatalogAccess(BasePermission):
    """Reads: anyone when CATALOG_ANONYMOUS_READ is on, else any valid credentials.
    Writes: a write key, or a user with the model permissions (`WRITE_PERMISSIONS`)."""

    def has_permission(self, request: Request, view) -> bool:
        reading = is_read(request, view)
        if reading and settings.CATALOG_ANONYMOUS_READ:
            return True
        if not is_authenticated(request):
            raise exceptions.NotAuthenticated(NOT_AUTHENTICATED)
        if reading:
            return True
        needed = permissions_needed(request)
        if needed is None:
            self.message = "This route takes no writes."
            return False
        self.message = write_refusal(request, needed)
        return self.message is None
