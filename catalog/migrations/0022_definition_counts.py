from django.db import migrations, models


def count_definitions(apps, schema_editor):
    """The counts of the schedules stored before this migration, and the triggers that
    keep them from here on (made again after every `migrate`)."""
    from catalog.models.definition_counts import count_every_definition, install_definition_triggers

    count_every_definition(schema_editor.connection)
    install_definition_triggers(schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0021_deployment_tags'),
    ]

    operations = [
        migrations.CreateModel(
            name='DefinitionCount',
            fields=[
                ('key', models.TextField(primary_key=True, serialize=False)),
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
                'indexes': [models.Index(fields=['-schedules'], name='catalog_definitions_most'), models.Index(condition=models.Q(('schedules__lte', 0)), fields=['key'], name='catalog_definitions_none')],
            },
        ),
        migrations.RunPython(count_definitions, migrations.RunPython.noop, elidable=True),
    ]
