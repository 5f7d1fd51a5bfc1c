import django.db.models.deletion
from django.db import migrations, models


def make_gram_rows(apps, schema_editor):
    """The trigram rows of the deployments stored before this migration, and the
    triggers that keep them from here on (made again after every `migrate`); on
    PostgreSQL only."""
    from catalog.models.name_grams import install_gram_triggers, make_every_gram_row

    make_every_gram_row(schema_editor.connection)
    install_gram_triggers(schema_editor.connection.alias)


def undo_make_gram_rows(apps, schema_editor):
    """The triggers go before the table does."""
    from catalog.models.name_grams import drop_gram_triggers

    drop_gram_triggers(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0022_definition_counts'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeploymentNameGram',
            fields=[
                ('pk', models.CompositePrimaryKey('gram', 'name', 'deployment', blank=True, editable=False, primary_key=True, serialize=False)),
                ('gram', models.CharField(max_length=12)),
                ('name', models.CharField(max_length=255)),
                ('deployment', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='name_grams', to='catalog.deployment')),
            ],
            options={
                'default_permissions': (),
            },
        ),
        # Filled in the primary key's order, so that its index grows at its right edge.
        migrations.RunPython(make_gram_rows, undo_make_gram_rows, elidable=True),
    ]
