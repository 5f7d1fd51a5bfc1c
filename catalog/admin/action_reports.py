"""What a bulk action says when it is done: how many rows it changed and how many were
already as asked, or that it changed nothing (and then nothing was written or logged)."""

from django.contrib import messages


def action_report(
    *, changed: int, selected: int, noun: str, already: str, done: str = "changed"
) -> tuple[str, int]:
    """The message and its level: "2 deployment(s) changed; 1 already paused." or
    "Nothing changed: 4 already paused." """
    unchanged = selected - changed
    if changed == 0:
        return f"Nothing changed: {unchanged} already {already}.", messages.WARNING
    note = f"; {unchanged} already {already}" if unchanged > 0 else ""
    return f"{changed} {noun}(s) {done}{note}.", messages.SUCCESS


def report_action(model_admin, request, **report) -> None:
    text, level = action_report(**report)
    model_admin.message_user(request, text, level)
