"""`setup_demo`: the demo catalog and an admin login, for a first look."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from catalog.importing.run import import_paths

DEMO_BUNDLE = Path(__file__).resolve().parents[2] / "fixtures" / "demo.json"


def admin_login_file() -> Path:
    return Path(settings.BASE_DIR) / "var" / "admin-login.txt"


def ensure_admin(username: str = "admin") -> str:
    """Create the admin user once; return the line to show for logging in."""
    users = get_user_model().objects
    login_file = admin_login_file()
    if users.filter(username=username).exists():
        if login_file.exists():
            return login_file.read_text().strip()
        return (
            f"{username} (password unchanged; reset it with: manage.py changepassword {username})"
        )
    password = os.environ.get("CATALOG_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
    users.create_superuser(username=username, email="", password=password)
    login_file.parent.mkdir(parents=True, exist_ok=True)
    login_file.write_text(f"{username} / {password}\n")
    login_file.chmod(0o600)
    return f"{username} / {password}"


class Command(BaseCommand):
    help = "Load the demo deployments (idempotent) and create or show the admin login."

    def handle(self, *args, **options) -> None:
        result = import_paths([DEMO_BUNDLE])
        self.stdout.write(result.summary())
        self.stdout.write(f"Admin login: {ensure_admin()}")
