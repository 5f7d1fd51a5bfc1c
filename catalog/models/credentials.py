"""Basic auth credentials the password hasher has verified, trusted again for a short
while (CATALOG_BASIC_AUTH_CACHE_SECONDS): a client that sends them with every request then
costs one indexed query, not a password hash, and every worker sees the same rows.

A row is found by an HMAC of the exact credentials keyed with SECRET_KEY; neither the
password nor a plain hash of it is stored. It stands only while its user is active and
still has the username and password hash it had when the row was written (the row's seal,
another HMAC), so a password change, a rename or a deactivation ends it at once.
"""

import hmac
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q
from django.utils.crypto import salted_hmac

CREDENTIALS_SALT = "catalog.models.credentials.VerifiedCredential.digest"
SEAL_SALT = "catalog.models.credentials.VerifiedCredential.seal"


def credentials_digest(username: str, password: str) -> str:
    # Basic auth's user-id holds no colon, so "username:password" names one pair only.
    return salted_hmac(CREDENTIALS_SALT, f"{username}:{password}", algorithm="sha256").hexdigest()


def user_seal(user) -> str:
    """What a row binds its user to: the username and the current password hash."""
    value = f"{user.get_username()}\0{user.password}"
    return salted_hmac(SEAL_SALT, value, algorithm="sha256").hexdigest()


class VerifiedCredentialQuerySet(models.QuerySet):
    """Named outright on the primary: a password change counts at once, even for a request
    whose reads go to a replica, and remembering is no write of the request's own."""

    def user_for(self, username: str, password: str, now: datetime):
        """The user these credentials were verified for, if that still stands; one query."""
        rows = self.using(DEFAULT_DB_ALIAS).select_related("user")
        row = rows.filter(digest=credentials_digest(username, password), expires__gt=now).first()
        return row.user if row is not None and row.stands() else None

    def remember(self, user, username: str, password: str, now: datetime, seconds: int) -> None:
        """Trust these credentials for `user` for `seconds`, and forget every expired row.
        Two queries; a worker that remembered the same credentials a moment before wins."""
        digest = credentials_digest(username, password)
        rows = self.using(DEFAULT_DB_ALIAS)
        rows.filter(Q(expires__lte=now) | Q(digest=digest)).delete()
        row = self.model(
            digest=digest, user=user, seal=user_seal(user), expires=now + timedelta(seconds=seconds)
        )
        rows.bulk_create([row], ignore_conflicts=True)


class VerifiedCredential(models.Model):
    """Basic auth credentials verified a moment ago (see the module's docstring)."""

    digest = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seal = models.CharField(max_length=64)
    expires = models.DateTimeField()

    objects = VerifiedCredentialQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                name="%(app_label)s_%(class)s_digest_is_sha256",
            ),
        ]

    def __str__(self) -> str:
        return f"verified credentials of user {self.user_id} until {self.expires}"

    def stands(self) -> bool:
        return self.user.is_active and hmac.compare_digest(self.seal, user_seal(self.user))
