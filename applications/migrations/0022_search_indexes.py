# Global search (issue 15 part 12, loancenter/search.py): the indexes that find a borrower by part of their name or
# the last digits of their ID or phone number among a million loans' customers (bench/search.py).
#
# PostgreSQL only, in SQL: a trigram GIN index (pg_trgm) serves ``name LIKE '%…%'`` and ``name LIKE '…%'`` (CJK
# characters make trigrams under the cluster's C.UTF-8 ctype); an ending is a prefix of the reversed number, which a
# B-tree with text_pattern_ops reads (``reverse(id_number) LIKE '4321%'``; the collation is not C, so the plain
# B-tree could not). SQLite, the embedded setup, has no pg_trgm and scans its few rows; the migration does nothing
# there. Not declared in Customer.Meta.indexes: Django's Index cannot say "PostgreSQL only", and the SQLite schema
# must stay creatable from the models.

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_name_trgm ON applications_customer USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_id_suffix ON applications_customer (reverse(id_number) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS customer_phone_suffix ON applications_customer (reverse(phone) text_pattern_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS customer_phone_suffix",
    "DROP INDEX IF EXISTS customer_id_suffix",
    "DROP INDEX IF EXISTS customer_name_trgm",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        # Was 0021_merge_originator (one of five parallel 0022s): chained so that Django takes them back in the
        # order it applied them (on SQLite a parallel branch's reversal remade the loan table without the
        # others' columns). docs/decisions.md, "Taking the schema back on SQLite".
        ("applications", "0026_alter_loan_proposed_spread_bp"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
