"""Global concurrency limits (Prefect's `concurrency_limit_v2`)."""

import uuid

from django.db import models
from django.db.models import Q

from catalog.models.base import TimestampedModel, validate_name, validate_rate
from catalog.rules import limits

OWN_LIMIT_PREFIX = "deployment:"


class ConcurrencyLimit(TimestampedModel):
    """A global concurrency limit (Prefect's `concurrency_limit_v2`)."""

    active = models.BooleanField(default=True)
    name = models.CharField(
        max_length=limits.NAME_MAX_LENGTH, unique=True, validators=[validate_name]
    )
    limit = models.PositiveIntegerField()
    active_slots = models.PositiveIntegerField(default=0)
    denied_slots = models.PositiveIntegerField(default=0)
    slot_decay_per_second = models.FloatField(default=0.0, validators=[validate_rate])
    avg_slot_occupancy_seconds = models.FloatField(default=2.0, validators=[validate_rate])
    # The deployment a `concurrency_limit: N` made this limit for (`deployment:<id>`);
    # deleting that deployment deletes its own limit, never a shared one.
    owner = models.OneToOneField(
        "Deployment",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="own_concurrency_limit",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(limit__gte=0), name="%(app_label)s_%(class)s_limit_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(active_slots__gte=0) & Q(denied_slots__gte=0),
                name="%(app_label)s_%(class)s_slots_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(slot_decay_per_second__gte=0) & Q(avg_slot_occupancy_seconds__gte=0),
                name="%(app_label)s_%(class)s_rates_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def name_for_deployment(deployment_id: uuid.UUID) -> str:
        return f"{OWN_LIMIT_PREFIX}{deployment_id}"
