from pathlib import Path

import pytest
from django.db import connection

from config.settings import database_from_url, env_bool


def test_it_defaults_to_an_sqlite_file_under_var():
    database = database_from_url(None)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]).parent.name == "var"


def test_it_tunes_sqlite_for_concurrent_writers():
    options = database_from_url("sqlite:////tmp/example.sqlite3")["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "PRAGMA journal_mode=WAL" in options["init_command"]
    assert "PRAGMA busy_timeout=" in options["init_command"]


def test_it_reads_postgres_urls():
    database = database_from_url("postgres://user:secret@db.example:5433/catalog")
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.example", 5433, "catalog")


def test_it_refuses_a_boolean_it_cannot_read(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(Exception, match="DJANGO_DEBUG must be true or false"):
        env_bool("DJANGO_DEBUG", default=False)


@pytest.mark.django_db
def test_the_live_connection_is_configured_for_its_database(settings):
    assert settings.TIME_ZONE == "UTC" and settings.USE_TZ
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20000
        else:
            cursor.execute("SHOW TIME ZONE")
            assert cursor.fetchone()[0] == "UTC"
