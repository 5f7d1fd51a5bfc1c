"""`prune_history`: delete versions past the retention, keeping each object's latest."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from catalog.services.history import history_prune

# A century: further back, dates leave the calendar Python counts in.
MAX_DAYS = 36_500


def retention_days(given: int | None) -> int:
    """`--older-than-days`, else the retention setting; a `CommandError` when neither
    says how long to keep versions, or says it unreadably."""
    days = settings.CATALOG_HISTORY_RETENTION_DAYS if given is None else given
    if days is None:
        raise CommandError(
            "CATALOG_HISTORY_RETENTION_DAYS is not set, so the history is kept forever; "
            "give --older-than-days N to prune it anyway."
        )
    if not 0 <= days <= MAX_DAYS:
        raise CommandError(f"Days to keep must be 0 to {MAX_DAYS:,}, not {days:,}.")
    return days


class Command(BaseCommand):
    help = (
        "Delete the change history's versions older than N days. Each existing object's "
        "latest version stays (the state its next change is compared with); a deleted "
        "object's versions all go once its deletion is that old."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than-days",
            type=int,
            metavar="N",
            help="Default: CATALOG_HISTORY_RETENTION_DAYS.",
        )

    def handle(self, *args, older_than_days, **options) -> None:
        days = retention_days(older_than_days)
        deleted = history_prune(older_than_days=days)
        self.stdout.write(f"Deleted {deleted} version(s) older than {days} day(s).")
