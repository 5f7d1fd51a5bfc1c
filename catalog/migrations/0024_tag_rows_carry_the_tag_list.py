from django.db import migrations, models


def make_tag_rows_again(apps, schema_editor):
    """Each deployment's rows again, now with its tag list, and the triggers that copy it.
    Emptied and filled before the indexes are made: one sort each, and no dead rows."""
    from catalog.models.deployment_tags import TABLE, install_tag_triggers, make_every_tag_row

    connection = schema_editor.connection
    with connection.cursor() as cursor:
        emptying = "TRUNCATE" if connection.vendor == "postgresql" else "DELETE FROM"
        cursor.execute(f"{emptying} {TABLE}")
    make_every_tag_row(connection, apps)
    install_tag_triggers(connection.alias, apps)


def drop_the_triggers(apps, schema_editor):
    """Before the column is added or removed: SQLite makes the table anew to alter it,
    and refuses to while a trigger names it."""
    from catalog.models.deployment_tags import drop_tag_triggers

    drop_tag_triggers(schema_editor.connection)


def keep_rows_without_the_list(apps, schema_editor):
    """Back to before, once the column is gone: triggers that do not write the list.
    (Placed before `AddField`, so that, reversed, it runs after the column goes and
    `apps` is the state without it.)"""
    from catalog.models.deployment_tags import install_tag_triggers

    install_tag_triggers(schema_editor.connection.alias, apps)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0023_deployment_name_grams"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="deploymenttag", name="catalog_tag_name"),
        migrations.RemoveIndex(model_name="deploymenttag", name="catalog_tag_new"),
        migrations.RemoveIndex(model_name="deploymenttag", name="catalog_tag_upd"),
        migrations.RunPython(drop_the_triggers, keep_rows_without_the_list),
        migrations.AddField(
            model_name="deploymenttag",
            name="tags",
            field=models.JSONField(default=list),
            preserve_default=False,
        ),
        migrations.RunPython(make_tag_rows_again, drop_the_triggers, elidable=True),
        migrations.AddIndex(
            model_name="deploymenttag",
            index=models.Index(
                fields=["tag", "name", "deployment"], include=("tags",), name="catalog_tag_name"
            ),
        ),
        migrations.AddIndex(
            model_name="deploymenttag",
            index=models.Index(
                fields=["tag", "-created", "deployment"], include=("tags",), name="catalog_tag_new"
            ),
        ),
        migrations.AddIndex(
            model_name="deploymenttag",
            index=models.Index(
                fields=["tag", "-updated", "deployment"], include=("tags",), name="catalog_tag_upd"
            ),
        ),
    ]
