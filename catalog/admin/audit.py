"""Who changed what: the actor Prefect's API shows, and admin history entries."""

import uuid

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

# Django users have integer ids; Prefect's `created_by.id` is a UUID, derived here.
USER_NAMESPACE = uuid.UUID("0b5e3c1a-7f0e-4d9b-9b1e-3c6f2a4d8e71")


def actor_for(user: AbstractBaseUser) -> dict:
    """`created_by` / `updated_by` as Prefect renders them, for an admin user."""
    return {
        "id": str(uuid.uuid5(USER_NAMESPACE, f"user:{user.pk}")),
        "type": "USER",
        "display_value": user.get_username(),
    }


def log_changed_fields(user: AbstractBaseUser, rows: QuerySet, fields: list[str]) -> None:
    """One history entry per row, naming the user and the fields an action changed."""
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=rows,
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": fields}}],
    )
