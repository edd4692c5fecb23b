"""The customer, product and application forms: happy paths, and invalid input that writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Collateral, Customer, Guarantor, Loan, LoanDocument, Product, Status
from loancenter.lib.dates import today
from loancenter.models import AuditEntry
from tests.factories import CustomerFactory, add_collateral, add_guarantor, id_number_for
from tests.support.forms import rendered_form

pytestmark = pytest.mark.django_db


def customer_post(**overrides):
    data = {
        "name": "周杰", "id_number": id_number_for(date(1988, 3, 9)), "phone": "13912345678", "address": "北京市西城区",
        "employer": "某银行", "occupation": "会计", "monthly_income": "18000.00", "monthly_debt_payment": "500.00",
        "civil_capacity": "full",
    }
    return {**data, **overrides}


def management(prefix: str, total: int, initial: int = 0) -> dict:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def application_post(customer, product, guarantor=None, **overrides):
    data = {
        "customer": customer.pk, "product": product.pk, "amount": "80000.00", "term_months": "24",
        "repayment_method": "equal_installment", "purpose": "home_renovation", "purpose_detail": "厨房改造",
        "long_term_reason": "", "interviewed_on": (today() - timedelta(days=1)).isoformat(), "credit_authorised": "on",
        "documents": ["id_card", "income_proof", "guarantor_id"],
        **management("guarantors", 1), **management("collaterals", 1),
        "collaterals-0-kind": "vehicle", "collaterals-0-description": "2022款轿车", "collaterals-0-owner_name": customer.name,
        "collaterals-0-certificate_no": "京A12345", "collaterals-0-appraised_value": "150000.00",
        "collaterals-0-appraised_on": (today() - timedelta(days=3)).isoformat(), "collaterals-0-disposer_consent": "on",
    }
    if guarantor is not None:
        data.update({"guarantors-0-customer": guarantor.pk, "guarantors-0-relationship": "spouse"})
    data.update(overrides)
    return data


# Customers


def test_marketing_registers_a_customer(login, staff):
    response = login(staff.mkt).post(reverse("customer-create"), customer_post())
    customer = Customer.objects.get(name="周杰")
    assert response.status_code == 302 and response["Location"] == reverse("customer-detail", args=[customer.pk])
    assert customer.officer == staff.mkt and customer.birth_date == date(1988, 3, 9)


@pytest.mark.parametrize(("field", "value"), [
    ("id_number", "110101198803091234"),  # wrong check character
    ("phone", "1234"),
    ("monthly_income", "-1"),
    ("name", "张" * 51),
    ("civil_capacity", "partial"),
])
def test_invalid_customer_shows_the_field_error_and_saves_nothing(login, staff, field, value):
    response = login(staff.mkt).post(reverse("customer-create"), customer_post(**{field: value}))
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert 'data-testid="form-error"' in response.content.decode()
    assert not Customer.objects.exists()


def test_script_in_a_customer_name_is_shown_escaped(login, staff):
    client = login(staff.mkt)
    client.post(reverse("customer-create"), customer_post(name="<script>alert(1)</script>"))
    customer = Customer.objects.get()
    for url in (reverse("customer-detail", args=[customer.pk]), reverse("customer-list")):
        html = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# Products


def product_post(**overrides):
    data = {
        "code": "biz-loan", "name": "个人经营贷款", "category": "business", "min_amount": "10000", "max_amount": "1000000",
        "min_term_months": "6", "max_term_months": "60", "repayment_methods": ["equal_installment", "interest_only"],
        "min_rate": "3.5", "max_rate": "8", "max_dti": "55", "investigation_rate": "100",
        "max_age_at_maturity": "65", "penalty_markup": "50", "required_documents": ["id_card", "business_license"],
        "allowed_purposes": ["business_operation", "equipment"], "appraisal_validity_days": "180", "active": "on",
    }
    return {**data, **overrides}


def test_general_creates_a_product_with_lists(login, staff):
    response = login(staff.gen).post(reverse("product-create"), product_post())
    assert response.status_code == 302
    product = Product.objects.get(code="biz-loan")
    assert product.repayment_methods == ["equal_installment", "interest_only"]
    assert product.required_documents == ["id_card", "business_license"]
    assert product.allowed_purposes == ["business_operation", "equipment"]


def test_manager_edits_a_product(login, staff, product):
    client = login(staff.boss)
    assert client.get(reverse("product-edit", args=[product.pk])).status_code == 200
    data = product_post(code=product.code, name="新名称", category="consumer", allowed_purposes=[])
    response = client.post(reverse("product-edit", args=[product.pk]), data)
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "新名称" and product.max_dti == Decimal("0.55")


def test_secured_product_without_ltv_is_refused_on_the_field(login, staff):
    response = login(staff.gen).post(reverse("product-create"), product_post(secured="on", max_ltv=""))
    assert response.status_code == 400
    assert response.context["form"].errors["max_ltv"]
    assert not Product.objects.exists()


# Applications


def test_application_form_creates_loan_guarantor_collateral_and_documents(login, staff, product, customer):
    guarantor = CustomerFactory(officer=staff.mkt, name="王小二")
    response = login(staff.mkt).post(reverse("loan-create"), application_post(customer, product, guarantor))
    loan = Loan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("loan-detail", args=[loan.pk])
    assert loan.status == Status.DRAFT and loan.marketing_officer == staff.mkt
    assert loan.amount == Decimal("80000.00") and loan.credit_authorised is True
    assert list(Guarantor.objects.filter(loan=loan).values_list("customer__name", "relationship")) == [("王小二", "spouse")]
    collateral = Collateral.objects.get(loan=loan)
    assert collateral.appraised_value == Decimal("150000.00") and collateral.disposer_consent is True
    assert set(loan.documents.values_list("code", flat=True)) == {"id_card", "income_proof", "guarantor_id"}
    assert AuditEntry.objects.filter(loan=loan, action="create").exists()


def test_blank_extra_rows_are_ignored(login, staff, product, customer):
    data = application_post(customer, product, **management("collaterals", 1))
    for key in [k for k in data if k.startswith("collaterals-0-")]:
        del data[key]
    response = login(staff.mkt).post(reverse("loan-create"), data)
    assert response.status_code == 302
    loan = Loan.objects.get()
    assert not loan.guarantors.exists() and not loan.collaterals.exists()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"amount": "0"}, "amount", None),
    ({"amount": "-5"}, "amount", None),
    ({"amount": "100.123"}, "amount", None),
    ({"amount": "900000.00"}, "amount", "500,000"),  # above the product maximum: the rule's message
    ({"term_months": "120"}, "term_months", None),
    ({"repayment_method": "whenever"}, "repayment_method", None),
    ({"purpose": "gambling"}, "purpose", "rule 4"),
    ({"purpose_detail": "很" * 201}, "purpose_detail", None),
    ({"interviewed_on": (today() + timedelta(days=3)).isoformat()}, "interviewed_on", None),
])
def test_invalid_application_writes_nothing(login, staff, product, customer, overrides, field, message):
    response = login(staff.mkt).post(reverse("loan-create"), application_post(customer, product, **overrides))
    assert response.status_code == 400
    errors = response.context["forms"].main.errors
    assert errors.get(field), errors
    if message:
        assert message in " ".join(errors[field])
    assert not Loan.objects.exists() and not Collateral.objects.exists() and not LoanDocument.objects.exists()


def test_borrower_as_own_guarantor_is_refused(login, staff, product, customer):
    response = login(staff.mkt).post(reverse("loan-create"), application_post(customer, product, guarantor=customer))
    assert response.status_code == 400
    assert "rule 10" in response.content.decode()
    assert not Loan.objects.exists() and not Guarantor.objects.exists()


def test_invalid_collateral_row_writes_nothing(login, staff, product, customer):
    data = application_post(customer, product, **{"collaterals-0-appraised_value": "0"})
    response = login(staff.mkt).post(reverse("loan-create"), data)
    assert response.status_code == 400
    assert not Loan.objects.exists()


def test_officer_edits_a_draft(login, staff, draft, customer):
    """Edited as a browser does: the rendered form (its rows included) posted back with one field changed."""
    collateral = add_collateral(draft)
    guarantor = add_guarantor(draft, CustomerFactory(officer=staff.mkt, name="王小二"))
    client = login(staff.mkt)
    page = client.get(reverse("loan-edit", args=[draft.pk]))
    assert page.status_code == 200
    form = rendered_form(page.content, testid="application-form")
    assert form["amount"] == str(draft.amount)
    data = form.data
    data["amount"] = ["120000.00"]
    response = client.post(reverse("loan-edit", args=[draft.pk]), data)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.amount == Decimal("120000.00")
    assert list(draft.collaterals.values_list("pk", flat=True)) == [collateral.pk]
    assert list(draft.guarantors.values_list("pk", flat=True)) == [guarantor.pk]
    assert sorted(draft.documents.values_list("code", flat=True)) == ["id_card", "income_proof"]


def test_another_officer_cannot_edit_a_draft(login, staff, draft):
    # Outside the other officer's scope the draft does not exist.
    assert login(staff.mkt2).get(reverse("loan-edit", args=[draft.pk])).status_code == 404


def test_editing_a_submitted_loan_redirects_with_a_message(login, staff, flow, draft):
    flow.advance(draft, Status.SUBMITTED)
    response = login(staff.mkt).get(reverse("loan-edit", args=[draft.pk]), follow=True)
    assert "Only a draft application can be edited." in response.content.decode()


def test_new_application_prefills_customer_from_the_customer_page(login, staff, customer):
    response = login(staff.mkt).get(reverse("loan-create"), {"customer": customer.pk})
    assert str(response.context["forms"].main.initial["customer"]) == str(customer.pk)


def test_reviewer_cannot_post_an_application(login, staff, product):
    assert login(staff.rev).post(reverse("loan-create"), {}).status_code == 403
    assert not Loan.objects.exists()
