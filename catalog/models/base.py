"""What every catalog table shares: a UUID key, Prefect's timestamps, and the field
validators and constraints built from `catalog.rules`."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from catalog.models.lookups import JsonArrayLength
from catalog.rules import limits
from catalog.rules.problems import RuleError

# Validators: the rules of `catalog.rules.limits`, as Django field validators ------------


def apply_rule(check, value) -> None:
    """Apply a rule of `catalog.rules.limits`, speaking Django's `ValidationError`."""
    try:
        check(value)
    except RuleError as error:
        raise ValidationError(error.message, code=error.code) from None


def validate_name(value: str) -> None:
    # Blank names are refused by the field (blank=False) before validators run.
    if value:
        apply_rule(limits.check_name, value)


def validate_tags(value) -> None:
    apply_rule(limits.check_tags, value)


def validate_labels(value) -> None:
    apply_rule(limits.check_labels, value)


def validate_object(value) -> None:
    apply_rule(limits.check_json_object, value)


def validate_optional_object(value) -> None:
    apply_rule(limits.check_optional_json_object, value)


def validate_pull_steps(value) -> None:
    apply_rule(limits.check_pull_steps, value)


def validate_actor(value) -> None:
    apply_rule(limits.check_actor, value)


def validate_json(value) -> None:
    apply_rule(limits.check_json, value)


def validate_parameters(value) -> None:
    apply_rule(limits.check_parameters, value)


def validate_rate(value) -> None:
    apply_rule(limits.check_rate, value)


def validate_priority(value) -> None:
    apply_rule(limits.check_priority, value)


def validate_max_scheduled_runs(value) -> None:
    apply_rule(limits.check_max_scheduled_runs, value)


def validate_grace_period(value) -> None:
    apply_rule(limits.check_grace_period, value)


def validate_variable_name(value) -> None:
    apply_rule(limits.check_variable_name, value)


def validate_variable_value(value) -> None:
    apply_rule(limits.check_variable_value, value)


def validate_optional_labels(value) -> None:
    apply_rule(lambda labels: limits.check_labels(labels, nullable=True), value)


def validate_string_list(value) -> None:
    """Named by migration 0006; fields now use `validate_tags`."""
    apply_rule(limits.check_string_list, value)


# Constraints ------------------------------------------------------------------------------


def has_no_banned_characters(field: str) -> Q:
    condition = Q()
    for character in limits.BANNED_NAME_CHARACTERS:
        condition &= ~Q(**{f"{field}__contains": character})
    return condition


def name_allowed_constraint(*, may_be_empty: bool = False) -> models.CheckConstraint:
    condition = has_no_banned_characters("name")
    return models.CheckConstraint(
        condition=condition if may_be_empty else condition & ~Q(name=""),
        name="%(app_label)s_%(class)s_name_allowed",
    )


def optional_limit_constraint() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(concurrency_limit__isnull=True) | Q(concurrency_limit__gte=0),
        name="%(app_label)s_%(class)s_limit_not_negative",
    )


def tag_count_constraint() -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=LessThanOrEqual(JsonArrayLength("tags"), limits.MAX_TAGS),
        name="%(app_label)s_%(class)s_tag_count",
    )


def choices_of(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """Enum members for `TextChoices("Name", choices_of(values))`: `READY = "READY"`."""
    return [(value.upper(), value) for value in values]


# The shared base ------------------------------------------------------------------------


class TimestampedModel(models.Model):
    """A UUID primary key and Prefect's `created`/`updated` timestamps.

    `save()` moves `updated` to now unless `touch=False`, which imports use to keep the
    timestamps they were given.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated = models.DateTimeField(default=timezone.now, editable=False, db_index=True)

    class Meta:
        abstract = True

    def save(self, *args, touch: bool = True, **kwargs) -> None:
        if touch and not self._state.adding:
            self.updated = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "updated"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.check_json_shapes()

    def check_json_shapes(self) -> None:
        """Run JSON fields' validators on "empty" values too (`[]` where an object belongs),
        which `clean_fields()` skips for fields that may be blank."""
        errors = {}
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(field, models.JSONField) and value in field.empty_values:
                try:
                    for validator in field.validators:
                        validator(value)
                except ValidationError as exc:
                    errors[field.name] = exc.messages
        if errors:
            raise ValidationError(errors)
