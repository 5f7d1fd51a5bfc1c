"""The change history: a version of each object every write changed, grouped by the
change set of the request, import or command that wrote it.

A version keeps the object's API JSON after the change (`after`); the state before it is
the previous version's `after`, so a diff is read from two neighbouring rows. Versions
survive their object: a deleted deployment's history stays, findable by its flow's name
and its own. Database triggers (`catalog.models.history_triggers`) mark every object a
write touches in `PendingChange`; the write core turns the marks into versions before
the transaction commits (`catalog.services.history`).
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalog.rules import limits
from catalog.rules.reasons import REASON_MAX_LENGTH


class ObjectType(models.TextChoices):
    DEPLOYMENT = "deployment", "deployment"
    FLOW = "flow", "flow"
    WORK_POOL = "work_pool", "work pool"
    WORK_QUEUE = "work_queue", "work queue"
    CONCURRENCY_LIMIT = "concurrency_limit", "concurrency limit"
    VARIABLE = "variable", "variable"


class ChangeKind(models.TextChoices):
    CREATED = "created", "created"
    CHANGED = "changed", "changed"
    DELETED = "deleted", "deleted"
    RESTORED = "restored", "restored"
    PURGED = "purged", "history purged"


class ChangeSet(models.Model):
    """Everything one request, import or command wrote, and who wrote it through which
    door, and why."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_kind = models.CharField(max_length=16)
    actor_name = models.CharField(max_length=limits.NAME_MAX_LENGTH * 2)
    actor_id = models.CharField(max_length=64, null=True, blank=True)
    door = models.CharField(max_length=16)
    reason = models.CharField(max_length=REASON_MAX_LENGTH, null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["actor_name"], name="catalog_changeset_actor")]

    def __str__(self) -> str:
        return f"{self.door} by {self.actor_name} at {self.at:%Y-%m-%d %H:%M:%S}"


class Version(models.Model):
    """One object's state after one change set changed it."""

    change_set = models.ForeignKey(ChangeSet, on_delete=models.CASCADE, related_name="versions")
    object_type = models.CharField(max_length=24, choices=ObjectType.choices)
    # No foreign key: the history outlives the object.
    object_id = models.UUIDField()
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    at = models.DateTimeField(default=timezone.now)
    name = models.CharField(max_length=limits.NAME_MAX_LENGTH, blank=True)
    flow_name = models.CharField(max_length=limits.NAME_MAX_LENGTH, null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    # The API's JSON of the object after the change, as the API sent it; null once deleted.
    after = models.TextField(null=True, blank=True)
    restored_from = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "change history entry"
        verbose_name_plural = "change history"
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id", "number"],
                name="%(app_label)s_%(class)s_unique_number",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="%(app_label)s_%(class)s_number_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["at", "id"], name="catalog_version_at"),
            models.Index(fields=["flow_name", "name"], name="catalog_version_names"),
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()} {self.name} v{self.number} ({self.kind})"


class PendingChange(models.Model):
    """An object a write in the open transaction touched, marked by the triggers. The
    write core turns the marks into versions and removes them before it commits, so the
    table is empty between transactions. A delete keeps the name (and a deployment's flow)
    of what it deleted."""

    object_type = models.CharField(max_length=24)
    object_id = models.UUIDField()
    name = models.CharField(max_length=limits.NAME_MAX_LENGTH, null=True)
    flow_id = models.UUIDField(null=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id"], name="%(app_label)s_%(class)s_unique_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} (pending)"
