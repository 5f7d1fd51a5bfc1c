"""Work pools and their queues, where workers take deployments' runs from."""

from django.db import models
from django.db.models import Q

from catalog.models.base import (
    TimestampedModel,
    choices_of,
    name_allowed_constraint,
    optional_limit_constraint,
    validate_name,
    validate_object,
    validate_priority,
)
from catalog.rules import limits

DEFAULT_AGENT_POOL = "default-agent-pool"
DEFAULT_QUEUE = "default"
DEFAULT_POOL_TYPE = "prefect-agent"
DEFAULT_QUEUE_DESCRIPTION = "The work pool's default queue."

WorkStatus = models.TextChoices("WorkStatus", choices_of(limits.WORK_STATUSES))


class WorkPool(TimestampedModel):
    name = models.CharField(
        max_length=limits.NAME_MAX_LENGTH, unique=True, validators=[validate_name]
    )
    description = models.TextField(null=True, blank=True)
    type = models.CharField(max_length=limits.NAME_MAX_LENGTH, default=DEFAULT_POOL_TYPE)
    base_job_template = models.JSONField(default=dict, blank=True, validators=[validate_object])
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=16,
        choices=WorkStatus.choices,
        null=True,
        blank=True,
        default=WorkStatus.NOT_READY,
    )
    default_queue = models.ForeignKey(
        "WorkQueue", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    storage_configuration = models.JSONField(default=dict, blank=True, validators=[validate_object])

    class Meta:
        ordering = ["name"]
        constraints = [
            name_allowed_constraint(),
            optional_limit_constraint(),
        ]

    def __str__(self) -> str:
        return self.name

    def variables_schema(self) -> dict | None:
        """The JSON schema job variables of this pool's deployments must fit, if any."""
        template = self.base_job_template or {}
        schema = template.get("variables") if isinstance(template, dict) else None
        return schema if isinstance(schema, dict) and schema else None


class WorkQueue(TimestampedModel):
    name = models.CharField(max_length=limits.NAME_MAX_LENGTH, validators=[validate_name])
    description = models.TextField(null=True, blank=True, default="")
    is_paused = models.BooleanField(default=False)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    priority = models.PositiveIntegerField(default=1, validators=[validate_priority])
    work_pool = models.ForeignKey(WorkPool, on_delete=models.CASCADE, related_name="queues")
    last_polled = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=WorkStatus.choices, default=WorkStatus.NOT_READY
    )

    class Meta:
        ordering = ["work_pool__name", "priority", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_pool", "name"], name="%(app_label)s_%(class)s_unique_pool_name"
            ),
            name_allowed_constraint(),
            models.CheckConstraint(
                condition=Q(priority__gte=1), name="%(app_label)s_%(class)s_priority_positive"
            ),
            optional_limit_constraint(),
        ]

    def __str__(self) -> str:
        return f"{self.work_pool.name} / {self.name}"
