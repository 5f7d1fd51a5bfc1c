from django.db import migrations

# On PostgreSQL a kept body's version is drawn from this sequence, so that a version
# names one body of one deployment for the database's whole life, even across a
# deployment deleted and made again with its id: a worker may hold bodies in memory by
# version alone (`catalog.rendering.body_memory`). The triggers that draw from it are
# installed, and every row given a version of its own, after each `migrate`
# (`catalog.rendering.json_cache.install_triggers`).
SEQUENCE = "catalog_deploymentjson_version"


def create_the_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE} AS bigint")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0026_deployment_orders_end_with_the_id"),
    ]

    # Going back leaves the sequence: the triggers installed after any `migrate` draw
    # from it, and a version drawn again would name two bodies.
    operations = [
        migrations.RunPython(create_the_sequence, migrations.RunPython.noop),
    ]
