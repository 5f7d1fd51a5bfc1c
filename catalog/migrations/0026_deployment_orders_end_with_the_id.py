"""The newest and last changed deployments first, ties by id, from an index each.

The indexes on `created` and on `updated` alone gave those orders without their
tie-break: a page of `CREATED_DESC` sorted each run of equal moments (the importer gives
a whole import one moment). `(-created, id)` and `(-updated, id)` give the whole order,
and serve the range filters on those columns as well, so they replace the two.

The old indexes are dropped by name rather than by altering the fields: on SQLite
altering a field copies the table, and the copy would leave the triggers of the
deployment table behind.
"""

import django.utils.timezone
from django.db import migrations, models

OLD_INDEXES = {
    "created": "catalog_deployment_created_a67cdceb",
    "updated": "catalog_deployment_updated_518f9844",
}


def field_without_index() -> models.DateTimeField:
    return models.DateTimeField(default=django.utils.timezone.now, editable=False)


def old_index_dropped(column: str) -> migrations.SeparateDatabaseAndState:
    name = OLD_INDEXES[column]
    return migrations.SeparateDatabaseAndState(
        state_operations=[
            migrations.AlterField(
                model_name="deployment", name=column, field=field_without_index()
            ),
        ],
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{name}"',
                reverse_sql=f'CREATE INDEX "{name}" ON "catalog_deployment" ("{column}")',
            ),
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0025_bodies_compressed_with_lz4"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(fields=["-created", "id"], name="catalog_deployment_new"),
        ),
        migrations.AddIndex(
            model_name="deployment",
            index=models.Index(fields=["-updated", "id"], name="catalog_deployment_upd"),
        ),
        old_index_dropped("created"),
        old_index_dropped("updated"),
    ]
