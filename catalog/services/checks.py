"""Applying the rules of `catalog.rules` to a resource's values, field by field."""

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db import IntegrityError, transaction

from catalog.rules.problems import Path, Problem, RuleError, problem_from
from catalog.services.errors import Conflict, Invalid

Rule = tuple[Path, Callable[[Any], Any]]


def problems_of(values: Mapping[str, Any], rules: Mapping[str, Rule]) -> list[Problem]:
    """The problems of each value that has a rule, at its field's path."""
    problems = []
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            continue
        path, check = rule
        try:
            check(value)
        except RuleError as error:
            problems.append(problem_from(error, *path))
    return problems


def refuse(problems: Iterable[Problem]) -> None:
    problems = list(problems)
    if problems:
        raise Invalid(problems)


def checked(values: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    refuse(problems_of(values, rules))


def saved(instance, **save_options) -> None:
    """Save in a savepoint; a broken unique or foreign key rule is a `Conflict`."""
    try:
        with transaction.atomic():
            instance.save(**save_options)
    except IntegrityError:
        raise Conflict() from None


def columns_of(instance, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in names}


@contextmanager
def problems_named(field: str) -> Iterator[None]:
    """Problems of a row written on the way (a work queue a deployment names) told at the
    field of the write that named it, not at the row's own `name`."""
    try:
        yield
    except Invalid as exc:
        raise Invalid([Problem((field,), p.message, p.code) for p in exc.problems]) from None
