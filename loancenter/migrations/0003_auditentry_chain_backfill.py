# Chain the audit rows written before the chain existed, in id order (plain SHA-256: the key came later, 0005).

from django.db import migrations


def backfill(apps, schema_editor):
    from loancenter import audit as chain

    AuditEntry = apps.get_model('loancenter', 'AuditEntry')
    db = schema_editor.connection.alias
    previous = chain.GENESIS
    rows = AuditEntry.objects.using(db).order_by('id').values_list('id', *chain.CONTENT_FIELDS)
    for pk, *content in rows.iterator(chunk_size=2000):
        digest = chain.legacy_entry_hash(prev_hash=previous, **dict(zip(chain.CONTENT_FIELDS, content, strict=True)))
        AuditEntry.objects.using(db).filter(pk=pk).update(prev_hash=previous, hash=digest)
        previous = digest


class Migration(migrations.Migration):

    dependencies = [
        ('loancenter', '0002_auditentry_chain_fields'),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
