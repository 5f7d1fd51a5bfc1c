"""`pytest --db=postgres` runs the suite on PostgreSQL; the default is SQLite.

Loaded with `-p` so that it sets `DATABASE_URL` before pytest-django reads the settings.
"""

import os

import pytest

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/catalog"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=None,
        help="Database to test on (default: DATABASE_URL if set, else SQLite). "
        "PostgreSQL is reached at TEST_POSTGRES_URL, default " + POSTGRES_URL,
    )
    parser.addoption(
        "--replica-tests",
        choices=["on", "off"],
        default="on",
        help="With --db=postgres, tests/test_streaming_replica.py makes a PostgreSQL primary "
        "and a streaming replica as the `postgres` OS user (default: on; off skips them)",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args) -> None:
    choice = early_config.known_args_namespace.db
    # The suite runs on one database; tests/test_routers.py serves real replicas itself.
    os.environ.pop("DATABASE_REPLICA_URLS", None)
    if choice == "postgres":
        os.environ["DATABASE_URL"] = os.environ.get("TEST_POSTGRES_URL", POSTGRES_URL)
    elif choice == "sqlite":
        os.environ.pop("DATABASE_URL", None)


def pytest_report_header(config: pytest.Config) -> str:
    from django.db import connection

    return f"database: {connection.vendor} ({connection.settings_dict['NAME']})"
