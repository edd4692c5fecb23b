from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("postloan", "0021_credit_query_authorisation_file"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="installment",
            index=models.Index(fields=["due_date", "interest", "paid_interest"], name="installment_period_interest"),
        ),
    ]
