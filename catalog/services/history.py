"""Who changed what: history entries for writes made by a person."""

from django.contrib.admin.models import CHANGE, LogEntry

from catalog.services.context import WriteContext


def record_change(context: WriteContext, rows: list, fields: list[str]) -> None:
    """One history entry a row, naming the user and the fields a write changed. Django's
    history needs a user: writes by keys and imports are not entered here."""
    if context.actor.user_id is None or not rows:
        return
    LogEntry.objects.log_actions(
        user_id=context.actor.user_id,
        queryset=rows,
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": fields}}],
    )
