"""The signal catalogue (SPEC §16.18): a fresh database has it. Levels, owners and deadlines are data the manager may
change later; names and required actions are translated text in postloan.signals."""

from django.db import migrations

CATALOGUE = [
    # code, level, owner post, deadline (days), raised by
    ("first_missed_installment", "yellow", "marketing", 7, "batch"),
    ("partial_payments", "orange", "marketing", 15, "batch"),
    ("broken_promise", "orange", "marketing", 7, "batch"),
    ("dpd_30", "orange", "general", 7, "batch"),
    ("fund_use_overdue", "orange", "marketing", 15, "batch"),
    ("prohibited_use", "red", "marketing", 7, "manual"),
    ("credit_deterioration", "orange", "marketing", 15, "manual"),
    ("litigation", "red", "general", 7, "manual"),
    ("enforcement", "red", "general", 7, "manual"),
    ("job_loss", "orange", "marketing", 15, "manual"),
    ("business_decline", "orange", "marketing", 15, "manual"),
    ("collateral_value_drop", "orange", "marketing", 15, "manual"),
    ("guarantor_trouble", "yellow", "marketing", 30, "manual"),
]


def load(apps, schema_editor):
    SignalType = apps.get_model("postloan", "SignalType")
    for code, level, owner_post, days, source in CATALOGUE:
        SignalType.objects.update_or_create(code=code, defaults={"level": level, "owner_post": owner_post,
                                                                 "deadline_days": days, "source": source})


class Migration(migrations.Migration):
    dependencies = [("postloan", "0011_monitoring")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
