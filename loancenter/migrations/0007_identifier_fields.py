# Rule 25: staff ID numbers are stored in their normal form, like customers' (the staff-borrower check matches them).

import loancenter.lib.idcard
import loancenter.lib.identifiers
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('loancenter', '0006_normalise_staff_id_numbers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='user',
            name='id_number',
            field=loancenter.lib.identifiers.IdentifierField(blank=True, kind='id_number', max_length=18, validators=[loancenter.lib.idcard.validate_id_number], verbose_name='ID number'),
        ),
    ]
