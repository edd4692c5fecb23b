"""Room on each installment page for the nightly batch's rewrites (issue 19, LPR repricing).

A 1 January night rewrites the future installments of every LPR-linked loan on the ``january`` rule (principal,
interest, ``repriced_on``: no indexed column). With free room on the page PostgreSQL keeps the new version there
(a HOT update) and writes none of the table's five indexes; on full pages (fillfactor 100) every rewrite inserts into
all of them. 70 leaves room for about a third of a page's rows to change in one night. Existing pages get the room
as they are rewritten (VACUUM FULL or pg_repack at a quiet hour); SQLite has no such setting.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE postloan_installment SET (fillfactor = 70)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE postloan_installment RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("postloan", "0015_repricing")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
