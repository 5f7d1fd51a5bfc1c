"""`create_api_key`: a new API key, its secret printed once."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.models import ApiKeyAccess
from catalog.services.api_keys import api_key_create


def user_named(username: str | None):
    if username is None:
        return None
    try:
        return get_user_model().objects.get_by_natural_key(username)
    except get_user_model().DoesNotExist:
        raise CommandError(f"No user {username!r}.") from None


def expiry_in(days: int | None) -> datetime | None:
    return None if days is None else timezone.now() + timedelta(days=days)


class Command(BaseCommand):
    help = (
        "Make an API key and print it (only the key, on stdout): the catalog keeps only its "
        "digest. Give it to the Prefect client as PREFECT_API_KEY."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="Who or what uses the key, e.g. ci-deploy.")
        parser.add_argument("--write", action="store_true", help="May write (default: read).")
        parser.add_argument("--user", help="Act for this user, with their model permissions.")
        parser.add_argument("--expires-in-days", type=int, help="Default: never expires.")

    def handle(self, *args, name, write, user, expires_in_days, **options) -> None:
        access = ApiKeyAccess.WRITE if write else ApiKeyAccess.READ
        try:
            key, secret = api_key_create(
                name=name, access=access, user=user_named(user), expires=expiry_in(expires_in_days)
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(f"API key {key}, {key.get_access_display()}:")
        self.stdout.write(secret)
