"""Text no database can store: NUL characters (PostgreSQL refuses them in text and JSON)
and lone surrogates (a JSON `\\ud800` escape decodes to one; it has no UTF-8 form).
The API and the importer refuse both, on every database, before anything is written."""

import re
from collections.abc import Mapping
from typing import Any

from catalog.rules.problems import joined, path_text

NUL = "NUL characters are not allowed"
SURROGATE = "lone surrogate characters are not allowed (text must be valid Unicode)"


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE
    return None


def unstorable(value: Any, where: str = "") -> tuple[str, str] | None:
    """The path (as text) and problem of the first unstorable text in a JSON value."""
    found = unstorable_at(value)
    if found is None:
        return None
    path, problem = found
    return joined(where, path_text(path)), problem


def unstorable_at(value: Any, at: tuple = ()) -> tuple[tuple, str] | None:
    """The path and problem of the first unstorable text in a JSON value, if any."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (at, problem) if problem else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = unstorable_at(key, (*at, key)) or unstorable_at(item, (*at, key))
            if found:
                return found
    elif isinstance(value, list):
        for n, item in enumerate(value):
            found = unstorable_at(item, (*at, n))
            if found:
                return found
    return None


def unreadable(exc: Exception) -> str:
    """Why Python could not make a value, in the user's terms: its integer limit's own
    message advises a Python call the user cannot make."""
    digits = re.search(r"value has (\d+) digits", str(exc))
    if digits:
        return f"an integer of {int(digits[1]):,} digits; at most 4,300 can be read"
    return str(exc)
