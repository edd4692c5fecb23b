# Rule 25: contract and registration-certificate numbers are stored in their normal form; unique on it.

import loancenter.lib.identifiers
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('disbursement', '0003_normalise_identifiers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='collateralregistration',
            name='certificate_no',
            field=loancenter.lib.identifiers.IdentifierField(blank=True, kind='certificate_no', max_length=60, null=True, unique=True, verbose_name='certificate (他项权证) number'),
        ),
        migrations.AlterField(
            model_name='contract',
            name='contract_no',
            field=loancenter.lib.identifiers.IdentifierField(kind='contract_no', max_length=40, unique=True, verbose_name='contract number'),
        ),
    ]
