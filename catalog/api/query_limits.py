"""Budgets on what a read may ask for: the length of a filter's text and the number of
values in a filter's list, in Prefect's filter bodies and in the REST listing's query.

Each budget is a setting read when a request is checked (README, "Security"):

- `CATALOG_MAX_PATTERN_LENGTH`: the longest `like_` pattern, `startswith_` prefix, name,
  type or tag a filter matches, and the longest text a listing parameter takes.
- `CATALOG_MAX_FILTER_VALUES`: the most values in an `any_`, `not_any_`, `all_` or
  `startswith_` list, in a worker's `deployment_ids`, or repeated `tag=` parameters.

Past either, a filter body is a 422 with pydantic's own error (`string_too_long`,
`too_long`) at the field's `loc`, and a listing parameter a 400 naming the parameter.
"""

from typing import Annotated, Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.core import validators
from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination

# Offsets go to SQL as 64-bit integers; beyond that no row can be there anyway.
MAX_OFFSET = 2**63 - 1


def pattern_budget() -> int:
    return settings.CATALOG_MAX_PATTERN_LENGTH


def values_budget() -> int:
    return settings.CATALOG_MAX_FILTER_VALUES


# Prefect's filter bodies -----------------------------------------------------------------


def text_within_budget(text: str) -> str:
    budget = pattern_budget()
    if len(text) > budget:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": budget},
        )
    return text


def values_within_budget(values: Any) -> Any:
    """Checked before the items are, so that a long list costs no item checks."""
    budget = values_budget()
    if isinstance(values, list) and len(values) > budget:
        raise PydanticCustomError(
            "too_long",
            "List should have at most {max_length} items after validation, not {actual_length}",
            {"field_type": "List", "max_length": budget, "actual_length": len(values)},
        )
    return values


FilterText = Annotated[str, AfterValidator(text_within_budget)]
TextValues = Annotated[list[FilterText], BeforeValidator(values_within_budget)]
IdValues = Annotated[list[UUID], BeforeValidator(values_within_budget)]


# The REST listing's query parameters -----------------------------------------------------


def check_text_length(text: str) -> None:
    validators.MaxLengthValidator(pattern_budget())(text)


class BoundedCharField(forms.CharField):
    """A listing parameter's text, at most `CATALOG_MAX_PATTERN_LENGTH` characters."""

    def validate(self, value) -> None:
        super().validate(value)
        if value:
            check_text_length(value)


class BoundedMultipleValueField(forms.Field):
    """A parameter that may repeat (`?tag=a&tag=b`): each value bounded like any text,
    and at most `CATALOG_MAX_FILTER_VALUES` of them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [str(item) for item in value or [] if str(item)]

    def validate(self, value) -> None:
        super().validate(value)
        budget = values_budget()
        if len(value) > budget:
            raise forms.ValidationError(
                f"Ensure at most {budget} values are given (it has {len(value)})."
            )
        for item in value:
            # As Django's CharField refuses them: PostgreSQL text cannot hold a NUL.
            validators.ProhibitNullCharactersValidator()(item)
            check_text_length(item)


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """DRF's `limit`/`offset`, with a bad value refused (400 naming the parameter)
    instead of silently replaced by the default."""

    def get_limit(self, request) -> int:
        field = forms.IntegerField(min_value=1, max_value=self.max_limit)
        return self.parameter(request, self.limit_query_param, field, self.default_limit)

    def get_offset(self, request) -> int:
        field = forms.IntegerField(min_value=0, max_value=MAX_OFFSET)
        return self.parameter(request, self.offset_query_param, field, 0)

    @staticmethod
    def parameter(request, name: str, field: forms.IntegerField, default: int) -> int:
        text = request.query_params.get(name)
        if not text:  # absent or empty, as the filters take them
            return default
        try:
            return field.clean(text)
        except forms.ValidationError as error:
            raise exceptions.ValidationError({name: error.messages}) from None
