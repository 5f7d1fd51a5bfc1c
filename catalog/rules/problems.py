"""How a broken rule is reported: a `RuleError` for one value, a `Problem` for one field."""

from collections.abc import Iterable
from dataclasses import dataclass

Path = tuple[str | int, ...]


class RuleError(ValueError):
    """A value breaks a rule. `code` names the rule for machines (`too_long`,
    `finite_number`, …); `at` is where inside the value, for JSON values."""

    def __init__(self, message: str, code: str = "invalid", at: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.at = at


@dataclass(frozen=True)
class Problem:
    """A broken rule and the field that broke it, as a path in Prefect's JSON of the
    resource (`("schedules", 0, "schedule", "cron")`)."""

    path: Path
    message: str
    code: str = "invalid"

    def under(self, *outer: str | int) -> "Problem":
        return Problem((*outer, *self.path), self.message, self.code)

    @property
    def field(self) -> str | int:
        return self.path[0] if self.path else ""

    def where(self) -> str:
        return path_text(self.path)


def problem_from(error: RuleError, *path: str | int) -> Problem:
    return Problem((*path, *error.at), error.message, error.code)


def path_text(path: Iterable[str | int]) -> str:
    """`("schedules", 0, "schedule", "cron")` as `schedules[0].schedule.cron`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def one_line(text: str) -> str:
    """`text` with every character that is not printable (newlines, tabs, other control
    and format characters, line and paragraph separators) written as its Python escape
    (`\\n`, `\\x1b`, `\\u2028`), so a message that echoes user text stays on one line and
    shows what the text holds. Printable text, backslashes included, is left as written."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def joined(outer: str, inner: str) -> str:
    """Two paths as text, one inside the other: `schedules[0]` and `slug`."""
    if not outer or not inner:
        return outer or inner
    return f"{outer}{'' if inner.startswith('[') else '.'}{inner}"
