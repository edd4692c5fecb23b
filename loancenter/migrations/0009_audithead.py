# The audit chain's keyed head (issue 13, finding 15). Rows already in the table were chained with plain SHA-256:
# the head records the last of them (legacy_last_id) and verify_audit checks them as they were; every row after
# them is an HMAC with AUDIT_HMAC_KEY. docs/decisions.md, "The keyed audit chain".

from django.db import migrations, models


def start_head(apps, schema_editor):
    from loancenter import audit as chain

    chain.start_head(apps.get_model('loancenter', 'AuditHead'), apps.get_model('loancenter', 'AuditEntry'),
                     schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('loancenter', '0008_login_counters'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditHead',
            fields=[
                ('id', models.PositiveSmallIntegerField(default=1, editable=False, primary_key=True, serialize=False)),
                ('rows', models.BigIntegerField()),
                ('last_id', models.BigIntegerField()),
                ('hash', models.CharField(max_length=64)),
                ('legacy_last_id', models.BigIntegerField(default=0)),
                ('tag', models.CharField(max_length=64)),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='audithead_single_row')],
            },
        ),
        migrations.RunPython(start_head, migrations.RunPython.noop),
    ]
