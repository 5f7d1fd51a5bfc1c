"""Flows: create (or find), update and delete."""

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import Flow
from catalog.rules import limits
from catalog.services.checks import checked, columns_of, problems_of, saved
from catalog.services.context import WriteContext
from catalog.services.errors import Conflict

FLOW_RULES = {
    "name": (("name",), limits.check_name),
    "tags": (("tags",), limits.check_tags),
    "labels": (("labels",), lambda value: limits.check_labels(value, nullable=True)),
}


def flow_problems(values: Mapping[str, Any]):
    return problems_of(values, FLOW_RULES)


def check_flow(values: Mapping[str, Any]) -> None:
    checked(values, FLOW_RULES)


def flow_create(
    *, name: str, tags: list | None = None, labels: dict | None = None, context: WriteContext
) -> tuple[Flow, bool]:
    """The flow of that name, made if missing; an existing flow is returned unchanged."""
    values = {"name": name, "tags": tags or [], "labels": labels}
    check_flow(values)
    existing = Flow.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Flow.objects.create(**values), True
    except IntegrityError:
        found = Flow.objects.filter(name=name).first()
        if found is None:
            raise Conflict() from None
        return found, False


def flow_update(*, flow: Flow, changes: Mapping[str, Any], context: WriteContext) -> None:
    check_flow(changes)
    for field, value in changes.items():
        setattr(flow, field, value)
    saved(flow)


def flow_delete(*, flow: Flow, context: WriteContext) -> None:
    """Deletes the flow and, with it, its deployments."""
    flow.delete()


def flow_save(*, flow: Flow, context: WriteContext) -> None:
    """A flow as a form left it (the admin): every field checked, then saved."""
    check_flow(columns_of(flow, FLOW_RULES))
    saved(flow)
