from django.db import migrations, models


def count_definitions(apps, schema_editor):
    """The counts of the schedules stored before this migration, and the triggers that
    keep them from here on (made again after every `migrate`)."""
    from catalog.models.definition_counts import count_every_definition, install_definition_triggers

    count_every_definition(schema_editor.connection)
    install_definition_triggers(schema_editor.connection.alias)


def undo_count_definitions(apps, schema_editor):
    """The triggers go before the table does."""
    from catalog.models.definition_counts import drop_definition_triggers

    drop_definition_triggers(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0021_deployment_tags'),
    ]

    operations = [
        migrations.CreateModel(
            name='DefinitionCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(max_length=8)),
                ('interval', models.FloatField(null=True)),
                ('phase', models.BigIntegerField(null=True)),
                ('group_anchor', models.DateTimeField(null=True)),
                ('cron', models.TextField(null=True)),
                ('day_or', models.BooleanField()),
                ('rrule', models.TextField(null=True)),
                ('timezone', models.TextField(null=True)),
                ('schedules', models.IntegerField()),
            ],
            options={
                'default_permissions': (),
            },
        ),
        migrations.RunPython(count_definitions, undo_count_definitions, elidable=True),
    ]
