import django.db.models.deletion
from django.db import migrations, models


def make_tag_rows(apps, schema_editor):
    """The tag rows of the deployments stored before this migration, and the triggers
    that keep them from here on (made again after every `migrate`)."""
    from catalog.models.deployment_tags import install_tag_triggers, make_every_tag_row

    make_every_tag_row(schema_editor.connection, apps)
    install_tag_triggers(schema_editor.connection.alias, apps)


def undo_make_tag_rows(apps, schema_editor):
    """The triggers go before the table does."""
    from catalog.models.deployment_tags import drop_tag_triggers

    drop_tag_triggers(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0020_paused_sort_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeploymentTag',
            fields=[
                ('pk', models.CompositePrimaryKey('deployment', 'tag', blank=True, editable=False, primary_key=True, serialize=False)),
                ('tag', models.CharField(max_length=255)),
                ('name', models.CharField(blank=True, max_length=255)),
                ('created', models.DateTimeField()),
                ('updated', models.DateTimeField()),
                ('deployment', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='tag_rows', to='catalog.deployment')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        # Filled before its indexes are made: one sort each instead of a row at a time.
        migrations.RunPython(make_tag_rows, undo_make_tag_rows, elidable=True),
        migrations.AddIndex(
            model_name='deploymenttag',
            index=models.Index(fields=['tag', 'name', 'deployment'], name='catalog_tag_name'),
        ),
        migrations.AddIndex(
            model_name='deploymenttag',
            index=models.Index(fields=['tag', '-created', 'deployment'], name='catalog_tag_new'),
        ),
        migrations.AddIndex(
            model_name='deploymenttag',
            index=models.Index(fields=['tag', '-updated', 'deployment'], name='catalog_tag_upd'),
        ),
    ]
