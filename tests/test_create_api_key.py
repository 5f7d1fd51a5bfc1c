"""`manage.py create_api_key`: a key for scripts and first deploys, printed once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from catalog.models import ApiKey, ApiKeyAccess, api_key_digest

pytestmark = pytest.mark.django_db


def create_api_key(*args: str) -> str:
    stdout = StringIO()
    call_command("create_api_key", *args, stdout=stdout, stderr=StringIO())
    return stdout.getvalue().strip()


def test_it_prints_only_the_key_and_stores_its_digest():
    secret = create_api_key("ci-deploy", "--write")
    key = ApiKey.objects.get()
    assert (key.name, key.access, key.digest) == ("ci-deploy", "write", api_key_digest(secret))


def test_a_key_reads_only_unless_asked_to_write():
    create_api_key("dashboard")
    assert ApiKey.objects.get().access == ApiKeyAccess.READ


def test_it_makes_a_key_act_for_a_user_until_it_expires():
    user = User.objects.create_user("deployer")
    create_api_key("mine", "--user", "deployer", "--expires-in-days", "30")
    key = ApiKey.objects.get()
    assert key.user == user
    assert abs(key.expires - key.created - timedelta(days=30)) < timedelta(seconds=5)


def test_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user 'nobody'"):
        create_api_key("mine", "--user", "nobody")


def test_a_name_taken_by_a_valid_key_is_an_error():
    create_api_key("ci-deploy")
    with pytest.raises(CommandError, match="already has this name"):
        create_api_key("ci-deploy")
