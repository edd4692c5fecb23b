"""A credit query's written authorisation becomes a file (issue 18, SPEC rule 22): a foreign key to the customer's
credit-report authorisation (applications.DocumentFile).

Existing rows held a typed reference. A reference that is the id of a credit-report authorisation file of the same
customer is linked to it (whatever that file's state now: it is what the query relied on); any other text is kept
as it was typed in ``authorisation_legacy`` and shown as such, never guessed at (docs/decisions.md).
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Q


def link_files(apps, schema_editor):
    CreditQuery = apps.get_model("postloan", "CreditQuery")
    DocumentFile = apps.get_model("applications", "DocumentFile")
    for query in CreditQuery.objects.filter(authorisation_document__isnull=True).exclude(authorisation_legacy=""):
        text = query.authorisation_legacy.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            continue
        if DocumentFile.objects.filter(pk=int(text), customer_id=query.customer_id,
                                       code="credit_authorization").exists():
            CreditQuery.objects.filter(pk=query.pk).update(authorisation_document_id=int(text), authorisation_legacy="")


def unlink_files(apps, schema_editor):
    CreditQuery = apps.get_model("postloan", "CreditQuery")
    for query in CreditQuery.objects.filter(authorisation_document__isnull=False):
        CreditQuery.objects.filter(pk=query.pk).update(authorisation_legacy=str(query.authorisation_document_id))


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0027_merge_search"),
        ("postloan", "0020_model_names_in_chinese"),
    ]

    operations = [
        migrations.RenameField(model_name="creditquery", old_name="authorisation_document",
                               new_name="authorisation_legacy"),
        migrations.AlterField(
            model_name="creditquery", name="authorisation_legacy",
            field=models.CharField(blank=True, max_length=100,
                                   verbose_name="written authorisation (reference typed before files)"),
        ),
        migrations.AddField(
            model_name="creditquery", name="authorisation_document",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="applications.documentfile",
                                    verbose_name="written authorisation"),
        ),
        migrations.AddConstraint(
            model_name="creditquery",
            constraint=models.CheckConstraint(
                condition=Q(authorisation_document__isnull=False) | ~Q(authorisation_legacy=""),
                name="credit_query_authorised"),
        ),
        # Last: on PostgreSQL the rows it links leave deferred foreign-key checks pending, and no ALTER may follow them.
        migrations.RunPython(link_files, unlink_files),
    ]
