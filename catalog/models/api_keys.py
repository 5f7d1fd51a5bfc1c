"""API keys: the credentials clients write with. Only a key's SHA-256 digest is stored."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models import Q
from django.utils import timezone

API_KEY_TAG = "pcat_"
# The tag and the first characters of the secret: enough for staff to tell keys apart.
API_KEY_PREFIX_LENGTH = len(API_KEY_TAG) + 7
LAST_USED_RESOLUTION = timedelta(minutes=1)
API_KEY_NAME_TAKEN = "A key that is not revoked already has this name."


def api_key_digest(raw_key: str) -> str:
    # A key is 256 random bits, so a fast hash is as safe as a slow one, and it can be
    # looked up through a unique index.
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyAccess(models.TextChoices):
    READ = "read", "read only"
    WRITE = "write", "read and write"


class ApiKeyQuerySet(models.QuerySet):
    def revoke(self, now: datetime) -> int:
        """Revoke the keys not revoked yet; returns how many were."""
        return self.filter(revoked__isnull=True).update(revoked=now)


class ApiKey(models.Model):
    """A credential for the API, sent as `Authorization: Bearer <key>` (what the Prefect
    client sends from PREFECT_API_KEY). Only the key's SHA-256 digest is stored.

    A read-only key reads; a write key writes anything, unless it acts for a user, whose
    model permissions it then needs as well.
    """

    name = models.CharField(max_length=100, help_text="Who or what uses it, e.g. ci-deploy.")
    prefix = models.CharField(
        max_length=API_KEY_PREFIX_LENGTH,
        editable=False,
        help_text="The key's first characters, to recognise it by.",
    )
    digest = models.CharField(max_length=64, unique=True, editable=False)
    access = models.CharField(max_length=5, choices=ApiKeyAccess.choices, default=ApiKeyAccess.READ)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_keys",
        help_text="The key acts for this user: its writes also need the user's model "
        "permissions, and it stops working when the user is deactivated.",
    )
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField(
        null=True, blank=True, help_text="Empty: the key works until it is revoked."
    )
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(revoked__isnull=True),
                name="%(app_label)s_%(class)s_unique_name_while_valid",
                violation_error_message=API_KEY_NAME_TAKEN,
            ),
            models.CheckConstraint(
                condition=~Q(name=""), name="%(app_label)s_%(class)s_name_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(digest__regex=r"^[0-9a-f]{64}$"),
                name="%(app_label)s_%(class)s_digest_is_sha256",
            ),
            models.CheckConstraint(
                condition=Q(prefix__startswith=API_KEY_TAG),
                name="%(app_label)s_%(class)s_prefix_tagged",
            ),
            models.CheckConstraint(
                condition=Q(access__in=ApiKeyAccess.values),
                name="%(app_label)s_%(class)s_access_known",
            ),
            models.CheckConstraint(
                condition=Q(expires__isnull=True) | Q(expires__gt=models.F("created")),
                name="%(app_label)s_%(class)s_expires_after_created",
                violation_error_message="The expiry must be after the key's creation.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def issue(self) -> str:
        """Give the key a new secret and return it: it is stored only as its digest."""
        raw_key = API_KEY_TAG + secrets.token_urlsafe(32)
        self.prefix = raw_key[:API_KEY_PREFIX_LENGTH]
        self.digest = api_key_digest(raw_key)
        return raw_key

    def refusal(self, now: datetime) -> str | None:
        """Why the key may not be used at `now`, if it may not."""
        if self.revoked is not None:
            return "API key revoked."
        if self.expires is not None and self.expires <= now:
            return "API key expired."
        if self.user is not None and not self.user.is_active:
            return "API key of an inactive user."
        return None

    def mark_used(self, now: datetime) -> None:
        """Record a use, at most once a minute: a write on every request would cost more
        than the lookup itself."""
        if self.last_used is None or now - self.last_used >= LAST_USED_RESOLUTION:
            # Named outright, so the router does not count it as the request's write.
            ApiKey.objects.using(DEFAULT_DB_ALIAS).filter(pk=self.pk).update(last_used=now)
            self.last_used = now
