"""Rule 29 (SPEC §10, §14, §16.31): a loan keeps the terms it was approved on; editing its product never changes an
approved or active loan's money.

Finding 8 of issue 13: the penalty markup was read live from the product, so editing a product changed the penalty of
every active loan, days already elapsed included (20.44 → 27.26 on one installment).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse

from applications.models import Loan, Status
from postloan.models import Installment
from postloan.services import repayment_post
from tests.api.conftest import drive
from tests.postloan.test_batch_life import at, run_batch

VALUE_DATE = date(2025, 1, 15)
FIRST_DUE = date(2025, 2, 15)
RATE, MARKUP = Decimal("0.0435"), Decimal("0.5")


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture
def active(staff, draft):
    with at(VALUE_DATE, hour=10):
        return drive(staff, draft, Status.ACTIVE)


def first_penalty(api, staff, loan: Loan) -> str:
    return api(staff.gen).get(f"/api/loans/{loan.pk}/schedule/").json()[0]["penalty"]


def expected(loan: Loan, days: int, markup: Decimal = MARKUP) -> Decimal:
    first = loan.installments.get(number=1)
    return cents((first.principal + first.interest) * RATE * (1 + markup) / 360 * days)


@pytest.mark.sidedoor(rule="29", path="api: PATCH /api/products/{id}/ penalty_markup, then the nightly batch")
def test_a_product_edit_does_not_change_an_active_loans_penalty(api, staff, active):
    as_of = FIRST_DUE + timedelta(days=14)
    run_batch(as_of)
    before = first_penalty(api, staff, active)
    assert Decimal(before) == expected(active, 14)

    with at(as_of + timedelta(days=1), hour=10):
        response = api(staff.gen).patch(f"/api/products/{active.product_id}/", {"penalty_markup": "1.0"}, format="json")
    assert response.status_code == 200, response.json()

    assert first_penalty(api, staff, active) == before  # the days already elapsed
    run_batch(as_of + timedelta(days=10))
    assert Decimal(first_penalty(api, staff, active)) == expected(active, 24)  # and the days after: still 50 %
    body = api(staff.gen).get(f"/api/loans/{active.pk}/").json()
    assert body["terms"]["penalty_markup"] == "0.5"


@pytest.mark.sidedoor(rule="29", path="admin: product change form, then a repayment")
def test_a_product_edit_in_the_admin_does_not_change_what_a_repayment_owes(client, staff, active):
    from tests.admin.test_admin import product_data

    client.force_login(staff.gen)
    product = active.product
    with at(FIRST_DUE + timedelta(days=1), hour=10):
        response = client.post(reverse("admin:applications_product_change", args=[product.pk]),
                               product_data(product, penalty_markup="200", min_rate="5"))  # percentages (issue 15 part 5)
    assert response.status_code == 302
    paid_on = FIRST_DUE + timedelta(days=20)
    first = active.installments.get(number=1)
    owed = first.principal + first.interest + expected(active, 20)

    with at(paid_on, hour=10):
        repayment, _created = repayment_post(loan_id=active.pk, actor=staff.gen, amount=owed, paid_on=paid_on,
                                             reference="KEPT-1")

    assert repayment.to_penalty == expected(active, 20)
    assert Installment.objects.get(pk=first.pk).paid_off_on == paid_on


def test_approval_keeps_the_terms_and_the_api_shows_them(api, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)

    terms = api(staff.mkt).get(f"/api/loans/{loan.pk}/").json()["terms"]

    assert terms == {"rate_type": "fixed", "annual_rate": "0.0435", "penalty_markup": "0.5", "amount": "100000.00",
                     "term_months": 36, "repayment_method": "equal_installment",
                     "spread_bp": None, "lpr": None}  # SPEC §16.31: a fixed-rate loan keeps no spread and no LPR


def test_no_terms_before_approval(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    assert api(staff.appr).get(f"/api/loans/{loan.pk}/").json()["terms"] is None


def test_the_data_migration_fills_the_terms_of_existing_approved_loans(staff, draft, product):
    import importlib
    import pkgutil

    from django.apps import apps

    import applications.migrations

    loan = drive(staff, draft, Status.ACTIVE)
    Loan.objects.filter(pk=loan.pk).update(rate_type="", penalty_markup=None)  # as a loan approved before rule 29
    product.penalty_markup = Decimal("0.7000")
    product.save()
    [name] = [m.name for m in pkgutil.iter_modules(applications.migrations.__path__) if m.name.endswith("fill_kept_terms")]
    migration = importlib.import_module(f"applications.migrations.{name}")

    migration.fill_kept_terms(apps, None)

    loan.refresh_from_db()
    assert (loan.rate_type, loan.penalty_markup) == ("fixed", Decimal("0.7000"))


@pytest.mark.sidedoor(rule="29", path="browser: product form /products/{id}/edit/, then the schedule")
def test_a_product_edit_in_the_browser_does_not_change_the_schedule_or_the_terms(client, api, staff, active):
    run_batch(FIRST_DUE + timedelta(days=5))
    before = api(staff.gen).get(f"/api/loans/{active.pk}/schedule/").json()
    client.force_login(staff.gen)
    url = reverse("product-edit", args=[active.product_id])
    form = client.get(url).context["form"]
    # What the form rendered (rates as percentages, issue 15 part 5), then the edit: markup 150 %, rates 5–20 %.
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(penalty_markup="150", min_rate="5", max_rate="20")
    data.pop("max_ltv", None)
    data["active"] = "on"

    with at(FIRST_DUE + timedelta(days=6), hour=10):
        assert client.post(url, data).status_code == 302
    active.product.refresh_from_db()
    assert active.product.penalty_markup == Decimal("1.5")

    assert api(staff.gen).get(f"/api/loans/{active.pk}/schedule/").json() == before
    active.refresh_from_db()
    assert (active.penalty_markup, active.annual_rate) == (Decimal("0.5"), RATE)


def test_the_data_migration_keeps_verified_facts_for_loans_past_the_investigation(staff, draft):
    import importlib
    import pkgutil

    from django.apps import apps

    import applications.migrations
    from applications.models import Collateral, Guarantor
    from tests.factories import CustomerFactory, add_collateral, add_guarantor

    guarantor = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("8000.00"))
    add_guarantor(draft, guarantor)
    add_collateral(draft, value=Decimal("300000.00"))
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    Loan.objects.filter(pk=loan.pk).update(verified_at=None, verified_monthly_income=None, verified_monthly_debt=None,
                                           verified_id_number="", verified_birth_date=None, verified_civil_capacity="")
    Guarantor.objects.filter(loan=loan).update(verified_monthly_income=None)
    Collateral.objects.filter(loan=loan).update(verified_appraised_value=None, verified_appraised_on=None)
    [name] = [m.name for m in pkgutil.iter_modules(applications.migrations.__path__) if m.name.endswith("fill_kept_terms")]

    importlib.import_module(f"applications.migrations.{name}").fill_verified_facts(apps, None)

    loan.refresh_from_db()
    customer = loan.customer
    assert loan.verified_at is not None
    assert (loan.verified_monthly_income, loan.verified_monthly_debt, loan.verified_id_number, loan.verified_birth_date,
            loan.verified_civil_capacity) == (customer.monthly_income, customer.monthly_debt_payment,
                                              customer.id_number, customer.birth_date, "full")
    assert loan.guarantors.get().verified_monthly_income == Decimal("8000.00")
    collateral = loan.collaterals.get()
    assert (collateral.verified_appraised_value, collateral.verified_appraised_on) == (
        Decimal("300000.00"), collateral.appraised_on)
