"""Rules 23 and 29 for the loans that existed before them (docs/decisions.md, "Verified facts, exposure, kept terms").

- Kept terms: every loan approved or further along keeps the rate type ``fixed`` and its product's penalty markup as it
  is now (the amount, term, rate and method it was approved on are already on the loan).
- Verified facts: every loan past the investigation keeps its customer's figures as they are now, each guarantor's
  income and each collateral's appraisal (nothing older is known).

Set-based (one UPDATE per table), so it runs in seconds on a large book.
"""

from django.db import migrations
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

APPROVED_OR_LATER = ["approved", "contract_signed", "collateral_registered", "ready_to_disburse", "active", "settled",
                     "written_off"]
INVESTIGATED = ["under_review", "pending_approval", "pending_branch_approval", *APPROVED_OR_LATER]


def fill_kept_terms(apps, schema_editor):
    Loan = apps.get_model("applications", "Loan")
    Product = apps.get_model("applications", "Product")
    markup = Product.objects.filter(pk=OuterRef("product_id")).values("penalty_markup")[:1]
    Loan.objects.filter(status__in=APPROVED_OR_LATER, rate_type="").update(rate_type="fixed",
                                                                          penalty_markup=Subquery(markup))


def fill_verified_facts(apps, schema_editor):
    Loan = apps.get_model("applications", "Loan")
    Customer = apps.get_model("applications", "Customer")
    Guarantor = apps.get_model("applications", "Guarantor")
    Collateral = apps.get_model("applications", "Collateral")

    def of_customer(field: str, key: str = "customer_id"):
        return Subquery(Customer.objects.filter(pk=OuterRef(key)).values(field)[:1])

    Loan.objects.filter(status__in=INVESTIGATED, verified_at__isnull=True).update(
        verified_at=timezone.now(), verified_monthly_income=of_customer("monthly_income"),
        verified_monthly_debt=of_customer("monthly_debt_payment"), verified_id_number=of_customer("id_number"),
        verified_birth_date=of_customer("birth_date"), verified_civil_capacity=of_customer("civil_capacity"),
    )
    Guarantor.objects.filter(loan__status__in=INVESTIGATED, verified_monthly_income__isnull=True).update(
        verified_monthly_income=of_customer("monthly_income"))
    Collateral.objects.filter(loan__status__in=INVESTIGATED, verified_appraised_value__isnull=True).update(
        verified_appraised_value=F("appraised_value"), verified_appraised_on=F("appraised_on"))


class Migration(migrations.Migration):
    dependencies = [("applications", "0015_loan_verified_facts_terms_exposure")]

    operations = [
        migrations.RunPython(fill_kept_terms, migrations.RunPython.noop),
        migrations.RunPython(fill_verified_facts, migrations.RunPython.noop),
    ]
