# Audit rows can be inserted, never updated or deleted: enforced by a trigger on each database.

from django.db import migrations, models


def create_triggers(apps, schema_editor):
    from loancenter import audit as chain

    for statement in chain.trigger_sql(schema_editor.connection.vendor, create=True):
        schema_editor.execute(statement, params=None)


def drop_triggers(apps, schema_editor):
    from loancenter import audit as chain

    for statement in chain.trigger_sql(schema_editor.connection.vendor, create=False):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('loancenter', '0003_auditentry_chain_backfill'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='auditentry',
            constraint=models.UniqueConstraint(fields=('prev_hash',), name='auditentry_prev_hash_unique'),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
