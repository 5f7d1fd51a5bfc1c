"""The SQL of a statement trigger on PostgreSQL, shared by the kept JSON's triggers and
the change history's."""

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
