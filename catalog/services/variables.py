"""Variables: named JSON values, created, updated and deleted."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import Variable
from catalog.rules import limits
from catalog.services.checks import checked, columns_of, problems_of, saved
from catalog.services.context import WriteContext
from catalog.services.errors import Conflict

VARIABLE_RULES = {
    "name": (("name",), limits.check_variable_name),
    "value": (("value",), limits.check_variable_value),
    "tags": (("tags",), limits.check_tags),
}


def variable_problems(values: Mapping[str, Any]):
    return problems_of(values, VARIABLE_RULES)


def check_variable(values: Mapping[str, Any]) -> None:
    checked(values, VARIABLE_RULES)


def name_taken(name: str) -> Conflict:
    return Conflict(f"A variable with the name {name!r} already exists.", ("name",))


def variable_create(*, values: Mapping[str, Any], context: WriteContext) -> Variable:
    check_variable(values)
    try:
        with transaction.atomic():
            return Variable.objects.create(**values)
    except IntegrityError:
        raise name_taken(values["name"]) from None


def variable_update(
    *, variable: Variable, changes: Mapping[str, Any], context: WriteContext
) -> None:
    """Sets only the keys given, and moves `updated` even when none is."""
    # Prefect writes a null name or tags into NOT NULL columns and answers the conflict.
    if None in (changes.get("name", ""), changes.get("tags", [])):
        raise Conflict()
    check_variable(changes)
    for field, value in changes.items():
        setattr(variable, field, value)
    saved(variable)


def variable_save(*, variable: Variable, context: WriteContext) -> None:
    """A variable as a form left it (the admin): every field checked, then saved."""
    check_variable(columns_of(variable, VARIABLE_RULES))
    saved(variable)


def variable_delete(*, variable: Variable, context: WriteContext) -> None:
    variable.delete()
