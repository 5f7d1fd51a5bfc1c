"""GIN indexes on the tag arrays, on PostgreSQL only: they serve the `?&` and `?|` tag
filters. SQLite has no such index; its tag filters scan `json_each`."""

from django.db import migrations

TABLES = ("catalog_deployment", "catalog_flow")


def create_gin_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {table}_tags_gin ON {table} USING gin (tags)"
        )


def drop_gin_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {table}_tags_gin")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_owner_and_pool_status")]

    operations = [migrations.RunPython(create_gin_indexes, drop_gin_indexes)]
