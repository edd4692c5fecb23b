# The four-eyes merge of duplicate customers (SPEC §16.10). Created before the normalising migration (0012), so that
# ``manage.py merge_customers`` works on a database where 0012 stopped on duplicates.

import django.core.validators
import django.db.models.deletion
import django_fsm
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('applications', '0010_loan_officer_open_queue_state'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CustomerMerge',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('merged_id', models.BigIntegerField(verbose_name='merged customer id')),
                ('merged_values', models.JSONField(default=dict, verbose_name='merged customer as it was')),
                ('reason', models.TextField(validators=[django.core.validators.MaxLengthValidator(2000)], verbose_name='reason')),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected')], default='pending', max_length=50, verbose_name='status')),
                ('filed_at', models.DateTimeField(auto_now_add=True, verbose_name='filed at')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('moved', models.JSONField(blank=True, default=dict, verbose_name='rows moved')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('filed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='filed by')),
                ('kept', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='applications.customer', verbose_name='kept customer')),
            ],
            options={
                'verbose_name': 'customer merge',
                'verbose_name_plural': 'customer merges',
                'ordering': ['-id'],
            },
            bases=(django_fsm.FSMModelMixin, models.Model),
        ),
        migrations.AddConstraint(
            model_name='customermerge',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'pending')), fields=('merged_id',), name='one_pending_merge_per_row'),
        ),
    ]
