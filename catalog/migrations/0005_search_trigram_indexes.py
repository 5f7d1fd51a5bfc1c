"""Trigram indexes for the admin's search, on PostgreSQL only.

The search matches `UPPER(column) LIKE UPPER('%term%')` on several columns; a GIN index
with `gin_trgm_ops` on each of those expressions lets PostgreSQL answer it from the
indexes instead of reading every row. `pg_trgm` is a trusted extension (PostgreSQL 13+):
a role that may create objects in the database may install it.
"""

from django.db import migrations

INDEXES = {
    "catalog_deployment_name_trgm": ("catalog_deployment", "name"),
    "catalog_deployment_description_trgm": ("catalog_deployment", "description"),
    "catalog_deployment_entrypoint_trgm": ("catalog_deployment", "entrypoint"),
    "catalog_deployment_tags_trgm": ("catalog_deployment", "tags"),
    "catalog_flow_name_trgm": ("catalog_flow", "name"),
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {index} ON {table} '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_deployment_name_index")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes)]
