"""The retention periods the bank starts with (docs/decisions.md): vouchers 30 years, the rest 10."""

from django.db import migrations

DEFAULTS = [
    ("borrower", 10, ""),
    ("investigation", 10, ""),
    ("legal", 10, ""),
    ("voucher", 30, "《会计档案管理办法》(财政部、国家档案局令第79号, 2015) 第十四条"),
    ("postloan", 10, ""),
]


def seed(apps, schema_editor):
    RetentionPeriod = apps.get_model("archive", "RetentionPeriod")
    for category, years, basis in DEFAULTS:
        RetentionPeriod.objects.get_or_create(category=category, defaults={"years": years, "basis": basis})


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
