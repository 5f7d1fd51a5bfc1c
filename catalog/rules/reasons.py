"""Why a write was made, as a user gives it: an HTTP header (`X-Change-Reason`), a field
beside an admin action, a command's `--reason`. At most 500 characters of printable text;
a header may carry UTF-8 as it is or percent-encoded (HTTP headers are Latin-1 on the
wire, so `%C3%A9` or the raw bytes of `é` both mean `é`)."""

from urllib.parse import unquote

from catalog.rules.text import text_problem

REASON_MAX_LENGTH = 500


class ReasonError(ValueError):
    """A reason the history cannot keep; the message says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def reason_from_header(raw: str | None) -> str | None:
    """The reason a header gives, decoded; None when it gives none."""
    if raw is None:
        return None
    try:
        text = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise ReasonError("The reason is not valid UTF-8.", "unicode_error") from None
    try:
        text = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise ReasonError(
            "The reason's percent-encoding is not valid UTF-8.", "unicode_error"
        ) from None
    return checked_reason(text)


def checked_reason(text: str | None) -> str | None:
    """A reason stripped of surrounding spaces (None when empty), or a `ReasonError`."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    if len(text) > REASON_MAX_LENGTH:
        raise ReasonError(
            f"String should have at most {REASON_MAX_LENGTH} characters", "string_too_long"
        )
    problem = text_problem(text)
    if problem is None and any(ord(c) < 32 and c not in "\t\n" for c in text):
        problem = "control characters are not allowed"
    if problem:
        raise ReasonError(f"The reason is refused: {problem}.", "invalid_text")
    return text
