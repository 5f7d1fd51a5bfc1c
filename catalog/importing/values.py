"""Reading a record's values: each is of the type Prefect's JSON gives it, or a
`RecordError` names its path. The rules beyond the type are the write core's
(`catalog.services`), which every record passes before anything is written."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalog.importing.records import MISSING, RecordError
from catalog.rules import limits
from catalog.rules.datetimes import DatetimeError, parse_datetime
from catalog.rules.problems import RuleError, joined, path_text


def get(data: Mapping, key: str, default: Any = MISSING) -> Any:
    if key in data:
        return data[key]
    if default is MISSING:
        raise RecordError(key, "Field required")
    return default


def as_uuid(value: Any, where: str, *, nullable: bool = False) -> uuid.UUID | None:
    if value is None and nullable:
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise RecordError(where, f"Input should be a valid UUID, got {value!r}") from None


def as_datetime(value: Any, where: str, *, nullable: bool = False) -> datetime | None:
    if value is None and nullable:
        return None
    try:
        return parse_datetime(value)
    except DatetimeError as exc:
        raise RecordError(where, str(exc)) from None


TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    dict: "an object",
    list: "a list",
    float: "a number",
}


def as_type(value: Any, kind: type | tuple, where: str, *, nullable: bool = False) -> Any:
    if value is None and nullable:
        return None
    # bool is an int in Python, but never a valid count or limit.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise RecordError(where, f"expected {type_name(kind)}, got {value!r}")
    if not isinstance(value, kind):
        shown = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        raise RecordError(where, f"expected {type_name(kind)}, got {shown[:80]}")
    return value


def type_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(TYPE_NAMES.get(k, k.__name__) for k in kinds)


def as_text(value: Any, where: str, *, nullable: bool = True) -> str | None:
    return as_type(value, str, where, nullable=nullable)


def as_string_list(value: Any, where: str) -> list[str]:
    for n, item in enumerate(as_type(value, list, where)):
        as_type(item, str, f"{where}[{n}]")
    return value


def as_labels(value: Any, where: str) -> dict:
    labels = as_type(value, dict, where)
    for key, label in labels.items():
        if isinstance(label, dict | list) or label is None:
            raise RecordError(f"{where}.{key}", "a label must be a string, number or boolean")
    return labels


def as_pull_steps(value: Any, where: str = "pull_steps") -> list | None:
    if value is None:
        return None
    for n, step in enumerate(as_type(value, list, where)):
        as_type(step, dict, f"{where}[{n}]")
    return value


def checked(value: Any, check, where: str) -> Any:
    """`value` after a rule of `catalog.rules.limits`, its problem at `where`."""
    try:
        return check(value)
    except RuleError as error:
        raise RecordError(joined(where, path_text(error.at)), error.message) from None


def as_name(value: Any, where: str) -> str:
    return checked(as_text(value, where, nullable=False), limits.check_name, where)


def as_actor(value: Any, where: str) -> dict | None:
    if value is None:
        return None
    actor = as_type(value, dict, where)
    extra = set(actor) - {"id", "type", "display_value"}
    if extra:
        raise RecordError(where, f"unexpected keys {sorted(extra)}")
    return {
        "id": str(as_uuid(actor["id"], f"{where}.id")) if actor.get("id") else None,
        "type": as_type(actor.get("type"), str, f"{where}.type", nullable=True),
        "display_value": as_type(
            actor.get("display_value"), str, f"{where}.display_value", nullable=True
        ),
    }


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
