"""Global concurrency limits: create, update, delete, and the deployment's own limit that
`concurrency_limit: N` makes."""

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from catalog.models import ConcurrencyLimit, Deployment
from catalog.rules import limits
from catalog.services.checks import checked, columns_of, problems_of, saved
from catalog.services.context import WriteContext
from catalog.services.errors import Conflict, NotFound

LIMIT_RULES = {
    "name": (("name",), limits.check_name),
    "limit": (("limit",), limits.check_integer),
    "active_slots": (("active_slots",), limits.check_integer),
    "denied_slots": (("denied_slots",), limits.check_integer),
    "slot_decay_per_second": (("slot_decay_per_second",), limits.check_rate),
    "avg_slot_occupancy_seconds": (("avg_slot_occupancy_seconds",), limits.check_rate),
}


def limit_problems(values: Mapping[str, Any]):
    return problems_of(values, LIMIT_RULES)


def check_limit(values: Mapping[str, Any]) -> None:
    checked(values, LIMIT_RULES)


def concurrency_limit_named(limit_id: uuid.UUID) -> ConcurrencyLimit:
    limit = ConcurrencyLimit.objects.filter(id=limit_id).first()
    if limit is None:
        raise NotFound("concurrency limit", "Concurrency limit not found")
    return limit


def concurrency_limit_create(*, values: Mapping[str, Any], context: WriteContext):
    check_limit(values)
    try:
        with transaction.atomic():
            return ConcurrencyLimit.objects.create(**values)
    except IntegrityError:
        raise Conflict() from None


def concurrency_limit_update(
    *, limit: ConcurrencyLimit, changes: Mapping[str, Any], context: WriteContext
) -> None:
    """Writes the keys given with a value; null keeps the stored one, as Prefect does."""
    changes = {field: value for field, value in changes.items() if value is not None}
    check_limit(changes)
    for field, value in changes.items():
        setattr(limit, field, value)
    saved(limit)


def concurrency_limit_save(*, limit: ConcurrencyLimit, context: WriteContext) -> None:
    """A limit as a form left it (the admin): every field checked, then saved."""
    check_limit(columns_of(limit, LIMIT_RULES))
    saved(limit)


def concurrency_limit_delete(*, limit: ConcurrencyLimit, context: WriteContext) -> None:
    limit.delete()


def set_own_concurrency_limit(deployment: Deployment, limit: int | None) -> None:
    """`concurrency_limit: N` makes or updates the deployment's own `deployment:<id>`
    limit and links it; `null` deletes that own limit. Shared limits are never changed."""
    if limit is not None:
        check_limit({"limit": limit})
    own = ConcurrencyLimit.objects.filter(owner=deployment).first()
    if limit is None:
        if own is not None:
            own.delete()
        deployment.global_concurrency_limit = None
        return
    if own is None:
        own, _ = ConcurrencyLimit.objects.update_or_create(
            name=ConcurrencyLimit.name_for_deployment(deployment.id),
            defaults={"limit": limit, "owner": deployment},
        )
    elif own.limit != limit:
        own.limit = limit
        own.save()
    deployment.global_concurrency_limit = own
