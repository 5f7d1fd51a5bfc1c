"""API keys: a new key is saved with its digest (its secret is shown once); revoked keys
keep their rows and history."""

from datetime import datetime

from django.contrib.admin.models import CHANGE, LogEntry
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import ApiKey, ApiKeyAccess
from catalog.services.context import WriteContext


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
    log_revocations(context, valid)
    return len(valid)


def log_revocations(context: WriteContext, keys: list[ApiKey]) -> None:
    """A Django admin history entry a revoked key, naming the user who revoked it."""
    if context.actor.user_id is None or not keys:
        return
    LogEntry.objects.log_actions(
        user_id=context.actor.user_id,
        queryset=keys,
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["Revoked"]}}],
    )
