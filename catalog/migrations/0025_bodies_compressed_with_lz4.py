from django.db import migrations

# Reading a page's 200 kept bodies back took PostgreSQL 0.59 ms with pglz, the default
# compression, 0.31 ms with lz4 and 0.24 ms uncompressed, lz4 at pglz's size (1.2 KB a
# body; `bench/README.md`). A server built without lz4 keeps pglz.
LZ4 = """
DO $$
BEGIN
    ALTER TABLE catalog_deploymentjson ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: kept bodies stay compressed with pglz';
END
$$
"""


def compress_bodies_with_lz4(apps, schema_editor):
    """The bodies kept from now on (`migrate` clears every kept body; see
    `catalog.rendering.json_cache.install_triggers`)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LZ4)


def compress_bodies_as_by_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE catalog_deploymentjson ALTER COLUMN body SET COMPRESSION DEFAULT"
        )


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0024_tag_rows_carry_the_tag_list"),
    ]

    operations = [
        migrations.RunPython(compress_bodies_with_lz4, compress_bodies_as_by_default),
    ]
