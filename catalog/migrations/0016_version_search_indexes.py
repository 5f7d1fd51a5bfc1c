"""Indexes for the change history page, on PostgreSQL only: a GIN index on each version's
tags serves the tag filter (`?|`), and trigram indexes serve the search by name and flow
name (`UPPER(column) LIKE UPPER('%term%')`), as 0003 and 0005 do for deployments."""

from django.db import migrations

INDEXES = {
    "catalog_version_tags_gin": "USING gin (tags)",
    "catalog_version_name_trgm": 'USING gin ((UPPER("name"::text)) gin_trgm_ops)',
    "catalog_version_flow_name_trgm": 'USING gin ((UPPER("flow_name"::text)) gin_trgm_ops)',
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for index, method in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {index} ON catalog_version {method}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for index in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {index}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0015_version_verbose_names")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
