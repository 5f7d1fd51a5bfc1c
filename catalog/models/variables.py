"""Prefect variables: named JSON values with tags."""

from django.db import models
from django.db.models import Q

from catalog.models.base import (
    TimestampedModel,
    tag_count_constraint,
    validate_tags,
    validate_variable_name,
    validate_variable_value,
)
from catalog.rules import limits


class Variable(TimestampedModel):
    """A Prefect variable: a named JSON value (any JSON, null included) with tags."""

    # Prefect accepts the empty name, so blank is allowed here too.
    name = models.CharField(
        max_length=limits.MAX_VARIABLE_NAME_LENGTH,
        unique=True,
        blank=True,
        validators=[validate_variable_name],
    )
    value = models.JSONField(null=True, blank=True, validators=[validate_variable_value])
    tags = models.JSONField(default=list, blank=True, validators=[validate_tags])

    class Meta:
        ordering = ["name"]
        constraints = [
            # Prefect's pattern; `re.match` lets one trailing newline through, so this does.
            models.CheckConstraint(
                condition=Q(name__regex=r"^[-_a-z0-9]*\n?$"),
                name="%(app_label)s_%(class)s_name_allowed",
            ),
            tag_count_constraint(),
        ]

    def __str__(self) -> str:
        return self.name
