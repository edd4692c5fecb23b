"""Rule 23 (SPEC §10, §14, §16.11): the facts the investigation verified are kept on the loan and frozen.

Finding 2 of issue 13: the marketing officer's ``PATCH /api/customers/{id}/`` changed ``monthly_income`` while the loan
waited for approval, and the approver's DTI check followed it (1,000 → refused; 1,000,000 → passed), outside the loan's
audit trail and around rule 20's reviewed request. Each path that could change such a fact is a test here.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from applications.models import Customer, Loan, Status
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.transitions import perform
from postloan.servicing import servicing_approve, servicing_file
from tests.api.conftest import drive
from tests.conftest import payloads
from tests.factories import CustomerFactory, add_guarantor

FACTS = ("monthly_income", "monthly_debt_payment", "id_number", "civil_capacity", "phone", "address")


def fact_row(customer: Customer) -> dict:
    return Customer.objects.filter(pk=customer.pk).values(*FACTS).get()


def refusals(code: str = "verified_fact") -> list[RefusedAttempt]:
    return list(RefusedAttempt.objects.filter(code=code))


# ---------------------------------------------------------------------------------------------------------------
# Finding 2, through the API as it was found


@pytest.mark.sidedoor(rule="23", path="api: PATCH /api/customers/{id}/")
@pytest.mark.parametrize("income", ["1000.00", "1000000.00"])
def test_marketing_cannot_patch_income_while_the_loan_waits_for_approval(api, staff, draft, income):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    before = fact_row(loan.customer)
    trail = loan.audit_entries.count()

    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"monthly_income": income}, format="json")

    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "verified_fact"
    assert "rule 20" in response.json()["detail"]
    assert fact_row(loan.customer) == before
    assert loan.audit_entries.count() == trail
    [refusal] = refusals()
    assert (refusal.actor, refusal.loan_id_ref, refusal.action) == (staff.mkt, loan.pk, "customer_update")


@pytest.mark.sidedoor(rule="23", path="api: PATCH /api/customers/{id}/ (active loan)")
def test_marketing_cannot_patch_any_verified_fact_of_an_active_borrower(api, staff, draft):
    loan = drive(staff, draft, Status.ACTIVE)
    before = fact_row(loan.customer)
    client = api(staff.mkt)
    for field, value in [("monthly_income", "1000000.00"), ("monthly_debt_payment", "0.00"), ("phone", "13700000001"),
                         ("address", "上海市浦东新区"), ("civil_capacity", "limited")]:
        response = client.patch(f"/api/customers/{loan.customer_id}/", {field: value}, format="json")
        assert (response.status_code, response.json()["code"]) == (409, "verified_fact"), field
    assert fact_row(loan.customer) == before
    assert len(refusals()) == 5


@pytest.mark.sidedoor(rule="23", path="api: PATCH /api/customers/{id}/ (guarantor)")
def test_a_guarantors_facts_are_frozen_too(api, staff, draft):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    before = fact_row(guarantor)

    response = api(staff.mkt).patch(f"/api/customers/{guarantor.pk}/", {"monthly_income": "99999.00"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "verified_fact")
    assert fact_row(guarantor) == before
    assert refusals()[0].loan_id_ref == loan.pk


def test_facts_that_are_not_verified_still_change_and_the_loan_trail_shows_them(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)

    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"employer": "另一家公司"}, format="json")

    assert response.status_code == 200, response.json()
    entry = AuditEntry.objects.get(action="customer_update", loan=loan)
    assert entry.payload == {"old": {"employer": "某某科技有限公司"}, "new": {"employer": "另一家公司"}}
    trail = api(staff.rev).get(f"/api/loans/{loan.pk}/audit/").json()
    assert [e["payload"] for e in trail if e["action"] == "customer_update"] == [entry.payload]


def test_a_draft_customer_is_edited_freely_with_old_and_new_values_audited(api, staff, draft):
    response = api(staff.mkt).patch(f"/api/customers/{draft.customer_id}/", {"monthly_income": "25000.00"}, format="json")

    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="customer_update", loan=draft)
    assert entry.payload == {"old": {"monthly_income": "20000.00"}, "new": {"monthly_income": "25000.00"}}


def test_a_settled_withdrawn_or_rejected_loan_no_longer_freezes_the_customer(api, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    perform("reject", loan_id=loan.pk, actor=staff.appr, data={"reason": "收入不稳定"})

    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"monthly_income": "30000.00"}, format="json")

    assert response.status_code == 200
    assert Customer.objects.get(pk=loan.customer_id).monthly_income == Decimal("30000.00")


# ---------------------------------------------------------------------------------------------------------------
# The other surfaces: the browser form, the admin, the servicing request


@pytest.mark.sidedoor(rule="23", path="browser: customer form /customers/{id}/edit/")
def test_the_browser_customer_form_shows_the_refusal_and_changes_nothing(client, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(staff.mkt)
    url = reverse("customer-edit", args=[loan.customer_id])
    form = client.get(url).context["form"]
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}
    before = fact_row(loan.customer)

    response = client.post(url, {**data, "monthly_income": "1000000.00"})

    assert response.status_code == 409
    assert "rule 20" in response.content.decode()
    assert "monthly_income" in response.context["form"].errors or response.context["form"].non_field_errors()
    assert fact_row(loan.customer) == before
    assert refusals()[0].loan_id_ref == loan.pk


def test_the_browser_customer_form_saves_a_customer_without_a_live_loan(client, staff, customer):
    client.force_login(staff.mkt)
    url = reverse("customer-edit", args=[customer.pk])
    form = client.get(url).context["form"]
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}

    response = client.post(url, {**data, "monthly_income": "23000.00"})

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.monthly_income == Decimal("23000.00")
    assert AuditEntry.objects.get(action="customer_update").payload["old"] == {"monthly_income": "20000.00"}


@pytest.mark.sidedoor(rule="23", path="admin: customer change form")
def test_the_admin_cannot_change_a_customer(client, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(staff.gen)
    before = fact_row(loan.customer)

    response = client.post(reverse("admin:applications_customer_change", args=[loan.customer_id]),
                           {**before, "name": loan.customer.name, "monthly_income": "1000000.00"})

    assert response.status_code == 403  # customers are read-only in the admin: no side door to record
    assert fact_row(loan.customer) == before


@pytest.mark.sidedoor(rule="23", path="service: change-of-borrower-data request (rule 20)")
def test_after_disbursement_the_reviewed_request_changes_the_fact_and_keeps_old_and_new(api, staff, draft):
    loan = drive(staff, draft, Status.ACTIVE)
    request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind="borrower_change", reason="换工作,收入提高",
                             changes={"monthly_income": Decimal("30000.00"), "phone": "13700000002"})
    assert fact_row(loan.customer)["monthly_income"] == Decimal("20000.00")  # filed, not yet reviewed

    servicing_approve(request_id=request.pk, actor=staff.rev)

    customer = Customer.objects.get(pk=loan.customer_id)
    assert (customer.monthly_income, customer.phone) == (Decimal("30000.00"), "13700000002")
    entry = AuditEntry.objects.get(action="customer_update", loan=loan)
    assert entry.payload["old"]["monthly_income"] == "20000.00" and entry.payload["new"]["monthly_income"] == "30000.00"
    loan.refresh_from_db()
    assert loan.verified_monthly_income == Decimal("20000.00")  # what the decision was made on stays


@pytest.mark.sidedoor(rule="23", path="service: change-of-borrower-data request approved by its filer")
def test_the_filer_cannot_approve_their_own_data_change(staff, draft):
    from loancenter.services import staff_create

    both = staff_create(username="mktrev", posts=["general", "reviewer"], password="x-long-pass-1", full_name="双岗")
    loan = drive(staff, draft, Status.ACTIVE)
    request = servicing_file(loan_id=loan.pk, actor=both, kind="borrower_change", reason="更正",
                             changes={"monthly_income": Decimal("90000.00")})
    before = fact_row(loan.customer)

    with pytest.raises(Exception) as refused:
        servicing_approve(request_id=request.pk, actor=both)

    assert refused.value.code == "separation_of_duty"
    assert fact_row(loan.customer) == before
    assert RefusedAttempt.objects.filter(action="servicing_approve", loan_id_ref=loan.pk).exists()


# ---------------------------------------------------------------------------------------------------------------
# What the loan keeps, and what review and approval read


def test_complete_investigation_keeps_the_verified_figures_and_the_people_and_collateral_facts(api, staff, draft):
    guarantor = CustomerFactory(officer=staff.mkt, monthly_income=Decimal("12000.00"))
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, Status.INVESTIGATING)
    data = {**payloads(staff, loan)["complete_investigation"], "verified_monthly_income": "15000.00",
            "verified_monthly_debt": "2500.00"}

    response = api(staff.inv).post(f"/api/loans/{loan.pk}/transitions/complete_investigation/", data, format="json")

    assert response.status_code == 200, response.json()
    loan.refresh_from_db()
    customer = loan.customer
    assert (loan.verified_monthly_income, loan.verified_monthly_debt) == (Decimal("15000.00"), Decimal("2500.00"))
    assert (loan.verified_id_number, loan.verified_birth_date, loan.verified_civil_capacity) == (
        customer.id_number, customer.birth_date, "full")
    assert loan.guarantors.get().verified_monthly_income == Decimal("12000.00")
    body = response.json()["verified_facts"]
    assert (body["monthly_income"], body["monthly_debt"]) == ("15000.00", "2500.00")


def test_without_verified_figures_the_investigation_keeps_the_customers_own(staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    assert (loan.verified_monthly_income, loan.verified_monthly_debt) == (Decimal("20000.00"), Decimal("1000.00"))


def test_review_and_approval_read_the_verified_income_not_the_customer_row(api, staff, draft):
    loan = drive(staff, draft, Status.INVESTIGATING)
    data = {**payloads(staff, loan)["complete_investigation"], "verified_monthly_income": "5000.00"}
    assert api(staff.inv).post(f"/api/loans/{loan.pk}/transitions/complete_investigation/", data,
                               format="json").status_code == 200

    response = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/pass_review/",
                                   payloads(staff, loan)["pass_review"], format="json")

    # (1,000 declared + 2,967.99 new) / 5,000 verified = 79.4 % > 50 %, although the customer row says 20,000.
    assert (response.status_code, response.json()["code"]) == (400, "dti_exceeded"), response.json()
    assert "79.4%" in response.json()["detail"]
    assert Loan.objects.get(pk=loan.pk).status == Status.UNDER_REVIEW


def test_return_to_marketing_drops_the_verified_figures_and_unfreezes_the_customer(api, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    perform("return_to_marketing", loan_id=loan.pk, actor=staff.rev, data={"reason": "收入需重新核实"})
    loan.refresh_from_db()
    assert loan.verified_monthly_income is None and loan.verified_at is None

    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"monthly_income": "16000.00"}, format="json")
    assert response.status_code == 200

    loan = drive(staff, loan, Status.UNDER_REVIEW)  # submitted and investigated again
    assert loan.verified_monthly_income == Decimal("16000.00")


def test_submitting_freezes_the_customer_before_any_investigation(api, staff, draft):
    loan = drive(staff, draft, Status.SUBMITTED)
    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"phone": "13600000000"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "verified_fact")



def test_the_browser_customer_form_posted_back_unchanged_is_no_refusal(client, staff, draft):
    loan = drive(staff, draft, Status.PENDING_APPROVAL)
    client.force_login(staff.mkt)
    url = reverse("customer-edit", args=[loan.customer_id])
    page = client.get(url)
    assert 'data-testid="facts-frozen"' in page.content.decode()
    form = page.context["form"]
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name in form.fields}
    before = fact_row(loan.customer)

    response = client.post(url, data)

    assert response.status_code == 302
    assert fact_row(loan.customer) == before
    assert not refusals() and not AuditEntry.objects.filter(action="customer_update").exists()
