# Records in the model state the partial index that 0008 created in SQL (Loan.Meta.indexes now declares it);
# the database already has it, so nothing is executed.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("applications", "0009_batch_index_with_id"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="loan",
                    index=models.Index(condition=models.Q(("status__in", ["draft", "approved"])),
                                       fields=["marketing_officer", "status_changed_at", "id"],
                                       name="loan_officer_open_queue"),
                ),
            ],
        ),
    ]
