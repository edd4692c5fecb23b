"""A credit query's report becomes a file (issue 18 part 4, SPEC §12 "a summary of the result (or the report as a
file)"): an optional foreign key to the customer's credit report (applications.DocumentFile, code credit_report).

Existing rows held a typed reference. A reference that is the id of a credit report of the same customer is linked
to it (whatever that file's state now: it is what the query recorded); any other text is kept as it was typed in
``report_legacy`` and shown as such, never guessed at (docs/decisions.md).
"""

import django.db.models.deletion
from django.db import migrations, models


def link_reports(apps, schema_editor):
    CreditQuery = apps.get_model("postloan", "CreditQuery")
    DocumentFile = apps.get_model("applications", "DocumentFile")
    for query in CreditQuery.objects.filter(report_document__isnull=True).exclude(report_legacy=""):
        text = query.report_legacy.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            continue
        if DocumentFile.objects.filter(pk=int(text), customer_id=query.customer_id, code="credit_report").exists():
            CreditQuery.objects.filter(pk=query.pk).update(report_document_id=int(text), report_legacy="")


def unlink_reports(apps, schema_editor):
    CreditQuery = apps.get_model("postloan", "CreditQuery")
    for query in CreditQuery.objects.filter(report_document__isnull=False):
        CreditQuery.objects.filter(pk=query.pk).update(report_legacy=str(query.report_document_id))


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0027_merge_search"),
        ("postloan", "0022_installment_period_interest"),
    ]

    operations = [
        migrations.RenameField(model_name="creditquery", old_name="report_document", new_name="report_legacy"),
        migrations.AlterField(
            model_name="creditquery", name="report_legacy",
            field=models.CharField(blank=True, max_length=100, verbose_name="report (reference typed before files)"),
        ),
        migrations.AddField(
            model_name="creditquery", name="report_document",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="+", to="applications.documentfile",
                                    verbose_name="credit report (file)"),
        ),
        # Last: on PostgreSQL the rows it links leave deferred foreign-key checks pending, and no ALTER may follow them.
        migrations.RunPython(link_reports, unlink_reports),
    ]
