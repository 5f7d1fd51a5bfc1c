"""Flows: what deployments run, named once across the catalog."""

from django.db import models

from catalog.models.base import (
    TimestampedModel,
    name_allowed_constraint,
    tag_count_constraint,
    validate_name,
    validate_optional_labels,
    validate_tags,
)
from catalog.rules import limits


class Flow(TimestampedModel):
    name = models.CharField(
        max_length=limits.NAME_MAX_LENGTH, unique=True, validators=[validate_name]
    )
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])
    labels = models.JSONField(
        default=dict, null=True, blank=True, validators=[validate_optional_labels]
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            name_allowed_constraint(),
            tag_count_constraint(),
        ]

    def __str__(self) -> str:
        return self.name
