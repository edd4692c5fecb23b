"""Rule 27 (SPEC §10, §14, §16.12): authority is measured on the customer's exposure, computed in one place.

Finding 6 of issue 13: the approver's limit was checked per loan, so two loans of 40,000 to one customer passed an
approver whose limit is 50,000.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Loan, Status
from loancenter.models import RefusedAttempt
from loancenter.services import staff_create
from tests.api.conftest import drive, snapshot
from tests.conftest import payloads
from tests.factories import CustomerFactory, LoanFactory, add_guarantor

FORTY = Decimal("40000.00")


@pytest.fixture
def small_approver(db):
    return staff_create(username="appr50k", posts=["approver"], approval_limit=Decimal("50000.00"),
                        password="long-enough-2026", full_name="小额审批")


def loan_of(staff, product, customer, amount=FORTY, **extra) -> Loan:
    return LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=amount, **extra)


def approve(api, user, loan: Loan):
    data = {"amount": str(loan.amount), "term_months": loan.term_months, "annual_rate": "0.0435",
            "repayment_method": loan.repayment_method, "reason": "同意"}
    return api(user).post(f"/api/loans/{loan.pk}/transitions/approve/", data, format="json")


@pytest.mark.sidedoor(rule="27", path="api: approve a second loan to the same customer")
def test_two_loans_of_40000_to_one_customer_need_more_than_a_50000_limit(api, staff, product, customer, small_approver):
    first = drive(staff, loan_of(staff, product, customer), Status.PENDING_APPROVAL)
    second = drive(staff, loan_of(staff, product, customer), Status.PENDING_APPROVAL)
    assert approve(api, small_approver, first).status_code == 200
    before = snapshot(second)

    response = approve(api, small_approver, second)

    assert (response.status_code, response.json()["code"]) == (403, "authority_limit"), response.json()
    assert "80,000.00" in response.json()["detail"]
    assert snapshot(second) == before
    assert RefusedAttempt.objects.filter(action="approve", loan_id_ref=second.pk, code="authority_limit").exists()
    # Above the limit the approver escalates; the branch decides it on the same measure.
    assert api(small_approver).post(f"/api/loans/{second.pk}/transitions/escalate/", {"reason": "合计超权限"},
                                    format="json").status_code == 200
    assert approve(api, staff.branch, second).status_code == 200
    second.refresh_from_db()
    assert second.exposure == Decimal("80000.00")


@pytest.mark.sidedoor(rule="27", path="api: approve a loan to a customer who guarantees an active loan")
def test_guarantees_given_count_in_full(api, staff, product, customer, small_approver):
    other = CustomerFactory(officer=staff.mkt)
    guaranteed = loan_of(staff, product, other, amount=Decimal("30000.00"))
    add_guarantor(guaranteed, customer)
    drive(staff, guaranteed, Status.ACTIVE)
    loan = drive(staff, loan_of(staff, product, customer, amount=Decimal("25000.00")), Status.PENDING_APPROVAL)

    response = approve(api, small_approver, loan)

    assert (response.status_code, response.json()["code"]) == (403, "authority_limit"), response.json()
    from applications.selectors import customer_exposure

    exposure = customer_exposure(loan)
    assert (exposure.guaranteed, exposure.this_loan, exposure.total) == (
        Decimal("30000.00"), Decimal("25000.00"), Decimal("55000.00"))


def test_exposure_counts_active_balances_and_approved_amounts_once(staff, product, customer):
    active = drive(staff, loan_of(staff, product, customer, amount=Decimal("50000.00")), Status.ACTIVE)
    approved = drive(staff, loan_of(staff, product, customer, amount=Decimal("20000.00")), Status.APPROVED)
    drive(staff, loan_of(staff, product, customer, amount=Decimal("70000.00")), Status.PENDING_APPROVAL)  # undecided
    loan = drive(staff, loan_of(staff, product, customer, amount=Decimal("10000.00")), Status.UNDER_REVIEW)

    from applications.selectors import customer_exposure

    exposure = customer_exposure(loan)

    assert exposure.active == active.outstanding_principal == Decimal("50000.00")
    assert exposure.approved == approved.approved_amount == Decimal("20000.00")
    assert (exposure.this_loan, exposure.guaranteed, exposure.total) == (Decimal("10000.00"), 0, Decimal("80000.00"))
    assert customer_exposure(loan, amount=Decimal("12000.00")).total == Decimal("82000.00")


def test_the_api_shows_exposure_live_until_the_decision_then_as_decided(api, staff, product, customer):
    loan = drive(staff, loan_of(staff, product, customer), Status.PENDING_APPROVAL)
    assert api(staff.appr).get(f"/api/loans/{loan.pk}/").json()["exposure"] == "40000.00"
    assert approve(api, staff.appr, loan).status_code == 200
    drive(staff, loan_of(staff, product, customer, amount=Decimal("15000.00")), Status.APPROVED)

    body = api(staff.appr).get(f"/api/loans/{loan.pk}/").json()

    assert body["exposure"] == "40000.00"  # kept as decided on, not today's 55,000


def test_dti_counts_the_installments_of_the_customers_other_live_loans(api, staff, product):
    customer = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("10000.00"), monthly_debt_payment=Decimal("0"))
    drive(staff, loan_of(staff, product, customer, amount=Decimal("100000.00")), Status.ACTIVE)  # 2,967.99 a month
    loan = drive(staff, loan_of(staff, product, customer, amount=Decimal("80000.00")), Status.UNDER_REVIEW)

    response = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/pass_review/",
                                   payloads(staff, loan)["pass_review"], format="json")

    # (0 declared + 2,967.99 other loan + 2,374.39 new) / 10,000 = 53.4 % > 50 %; alone it would be 23.7 %.
    assert (response.status_code, response.json()["code"]) == (400, "dti_exceeded"), response.json()
    assert "53.4%" in response.json()["detail"]


def test_the_decision_forms_show_exposure_and_the_verified_figures(client, staff, product, customer):
    loan = drive(staff, loan_of(staff, product, customer), Status.PENDING_APPROVAL)
    drive(staff, loan_of(staff, product, customer, amount=Decimal("15000.00")), Status.APPROVED)
    client.force_login(staff.appr)

    page = client.get(f"/loans/{loan.pk}/do/approve/").content.decode()

    assert 'data-testid="decision-facts"' in page
    assert "55,000.00" in page  # 40,000 this loan + 15,000 approved, not disbursed
    assert "20,000.00" in page  # the verified monthly income


def test_the_reviewer_sees_them_on_the_review_form(client, staff, product, customer):
    drive(staff, loan_of(staff, product, customer, amount=Decimal("15000.00")), Status.ACTIVE)
    loan = drive(staff, loan_of(staff, product, customer), Status.UNDER_REVIEW)
    client.force_login(staff.rev)

    page = client.get(f"/loans/{loan.pk}/do/pass_review/").content.decode()

    assert 'data-testid="decision-facts"' in page
    assert "55,000.00" in page  # 15,000 outstanding + 40,000 this loan
