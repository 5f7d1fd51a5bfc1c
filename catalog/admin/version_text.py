"""How a version reads in the admin and its exports: who made it, what kind of change it
was, and what it changed, each value as compact JSON. The history tab, the audit page and
the exports all read versions this way."""

import json
from dataclasses import dataclass
from typing import Any

from catalog.models import ChangeKind, ChangeSet, Version

# A value longer than this is shown in a box of its own, which scrolls.
INLINE_CHARS = 80
# A value is cut after this many characters, so that a page of versions of 1 MB parameters
# stays a page; the exports carry every value whole.
SHOWN_CHARS = 2000

ACTOR_KINDS = {
    "user": "user",
    "api_key": "API key",
    "import": "import",
    "operator": "operator",
    "system": "system",
}


def actor_text(change_set: ChangeSet) -> str:
    kind = ACTOR_KINDS.get(change_set.actor_kind, change_set.actor_kind)
    return f"{change_set.actor_name} ({kind})"


def kind_text(version: Version) -> str:
    if version.kind == ChangeKind.RESTORED and version.restored_from:
        return f"restores version {version.restored_from}"
    return version.get_kind_display()


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class ValueText:
    """One value of a change as the page shows it."""

    text: str
    long: bool
    cut_chars: int

    @classmethod
    def of(cls, value: Any) -> "ValueText":
        text = json_text(value)
        cut = max(len(text) - SHOWN_CHARS, 0)
        return cls(text[:SHOWN_CHARS], len(text) > INLINE_CHARS, cut)


@dataclass(frozen=True)
class ChangeLine:
    """`path: old → new`."""

    path: str
    old: ValueText
    new: ValueText

    @classmethod
    def of(cls, change: dict) -> "ChangeLine":
        return cls(change["path"], ValueText.of(change["old"]), ValueText.of(change["new"]))


def change_lines(found: list[dict]) -> list[ChangeLine]:
    return [ChangeLine.of(change) for change in found]


def changes_summary(found: list[dict], most: int = 3) -> str:
    """A few changes on one line, for a line about a shared object."""
    shown = [
        f"{change['path']}: {clipped(change['old'])} → {clipped(change['new'])}"
        for change in found[:most]
    ]
    more = len(found) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def clipped(value: Any) -> str:
    text = json_text(value)
    return text if len(text) <= INLINE_CHARS else text[: INLINE_CHARS - 1] + "…"
