# Rule 25: the identifier columns hold their normal form (loancenter.lib.identifiers); the ID number's unique index
# holds on it, and a check constraint keeps anything else out (SPEC §16.10). Rule 28 reads collaterals by certificate.

import loancenter.lib.idcard
import loancenter.lib.identifiers
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('applications', '0012_normalise_identifiers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='collateral',
            name='certificate_no',
            field=loancenter.lib.identifiers.IdentifierField(blank=True, kind='certificate_no', max_length=50, verbose_name='ownership certificate number'),
        ),
        migrations.AlterField(
            model_name='customer',
            name='id_number',
            field=loancenter.lib.identifiers.IdentifierField(kind='id_number', max_length=18, unique=True, validators=[loancenter.lib.idcard.validate_id_number], verbose_name='ID number'),
        ),
        migrations.AlterField(
            model_name='customer',
            name='phone',
            field=loancenter.lib.identifiers.IdentifierField(kind='phone', max_length=11, validators=[loancenter.lib.idcard.validate_phone], verbose_name='phone'),
        ),
        migrations.AddIndex(
            model_name='collateral',
            index=models.Index(fields=['certificate_no'], name='collateral_certificate'),
        ),
        migrations.AddConstraint(
            model_name='customer',
            constraint=models.CheckConstraint(condition=models.Q(('id_number__regex', '^[0-9]{17}[0-9X]$')), name='customer_id_number_normalised'),
        ),
    ]
