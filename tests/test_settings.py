from pathlib import Path

import pytest
from django.db import connection

from config.settings import (
    database_from_url,
    development_secret_key,
    env_bool,
    env_int,
    replica_databases,
)


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
    assert database["ENGINE"] == "catalog.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == ("db.example", 5433, "catalog")


def test_postgres_connections_run_without_jit():
    database = database_from_url("postgres://db.example/catalog?options=-c%20work_mem%3D64MB")
    assert database["OPTIONS"]["options"] == "-c work_mem=64MB -c jit=off"


@pytest.mark.django_db
@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_test_database_runs_without_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_it_refuses_a_boolean_it_cannot_read(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")
    with pytest.raises(Exception, match="DJANGO_DEBUG must be true or false"):
        env_bool("DJANGO_DEBUG", default=False)


def test_it_refuses_a_number_it_cannot_read(monkeypatch):
    monkeypatch.setenv("CATALOG_MAX_BODY_BYTES", "1MB")
    with pytest.raises(Exception, match="CATALOG_MAX_BODY_BYTES must be a whole number"):
        env_int("CATALOG_MAX_BODY_BYTES", default=1)


def test_it_keeps_postgres_connections_for_a_configurable_time(monkeypatch):
    assert database_from_url("postgres://db.example/catalog")["CONN_MAX_AGE"] == 60
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")
    assert database_from_url("postgres://db.example/catalog")["CONN_MAX_AGE"] == 0


def test_replica_urls_become_numbered_databases():
    replicas = replica_databases(["postgres://ro@replica-a/catalog", "postgres://ro@replica-b/c"])
    assert list(replicas) == ["replica_1", "replica_2"]
    assert replicas["replica_2"]["HOST"] == "replica-b"


def test_replicas_mirror_the_primary_in_tests():
    replica = replica_databases(["postgres://ro@replica-a/catalog"])["replica_1"]
    assert replica["TEST"] == {"MIRROR": "default"}


def test_the_suite_runs_without_replicas(settings):
    assert (list(settings.DATABASES), settings.CATALOG_READ_REPLICAS) == (["default"], [])


def test_the_development_key_serves_this_machine_only():
    assert development_secret_key(["localhost", "127.0.0.1"])
    with pytest.raises(Exception, match="DJANGO_SECRET_KEY is required"):
        development_secret_key(["localhost", "catalog.example.com"])


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
