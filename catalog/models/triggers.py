"""The SQL of the triggers that keep tables beside the catalog's (the kept JSON, the
change history's marks, the schedule counts, the tag rows, the definitions' counts): a
statement trigger on PostgreSQL, a row trigger on SQLite."""

from collections.abc import Callable

from django.db import connections, router

TRANSITION_TABLES = {
    "INSERT": "NEW TABLE AS written",
    "DELETE": "OLD TABLE AS written",
    "UPDATE": "NEW TABLE AS written OLD TABLE AS before_write",
}


def postgres_statement_trigger(name: str, table: str, event: str, action: str) -> str:
    """A trigger run once per statement, however many rows (a COPY of 100,000 rows runs
    it once), with the rows the statement wrote as the transition table `written` (and
    an update's old rows as `before_write`)."""
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {action}; RETURN NULL; END $$; "
        f"CREATE OR REPLACE TRIGGER {name} AFTER {event} ON {table} "
        f"REFERENCING {TRANSITION_TABLES[event]} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
    )


def sqlite_row_trigger(name: str, table: str, event: str, action: str) -> list[str]:
    """A trigger run for each row (`NEW` and `OLD` are the row), made afresh: SQLite has
    no `CREATE OR REPLACE TRIGGER`."""
    return [
        f"DROP TRIGGER IF EXISTS {name}",
        f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {action}; END",
    ]


def create_triggers(
    model, using: str, postgres: Callable[[], list[str]], sqlite: Callable[[], list[str]]
) -> bool:
    """Runs the statements that (re)create the triggers keeping `model`'s table, those
    of the database's kind; False where `model` is not migrated or its table is gone."""
    if not router.allow_migrate_model(using, model):
        return False
    connection = connections[using]
    if model._meta.db_table not in connection.introspection.table_names():
        return False  # migrated back to before the table: nothing to keep
    statements = postgres() if connection.vendor == "postgresql" else sqlite()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return True


def drop_triggers(connection, triggers: list[tuple[str, str]]) -> None:
    """Drops the triggers named (trigger, table), and on PostgreSQL their functions: what
    a migration that made a kept table undoes before the table goes."""
    with connection.cursor() as cursor:
        for name, table in triggers:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
