"""API keys: a new key is saved with its digest (its secret is shown once); revoked keys
keep their rows and history."""

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import ApiKey, ApiKeyAccess
from catalog.services.context import WriteContext
from catalog.services.history import record_change


def api_key_create(
    *,
    name: str,
    access: str = ApiKeyAccess.READ,
    user=None,
    expires: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key, saved, and its secret, which nothing keeps."""
    key = ApiKey(name=name, access=access, user=user, expires=expires)
    raw_key = key.issue()
    key.full_clean()
    key.save()
    return key, raw_key


def api_keys_revoke(*, keys: QuerySet, context: WriteContext) -> int:
    """Revoke the keys not revoked yet, each with a history entry; how many were."""
    valid = list(keys.filter(revoked__isnull=True).order_by())
    ApiKey.objects.filter(pk__in=[key.pk for key in valid]).revoke(timezone.now())
    record_change(context, valid, ["Revoked"])
    return len(valid)
