"""Side doors to the facts rules 1, 2, 5, 20 and 23 read about the borrower, the guarantors and the papers
(SPEC §3, §10 rules 23–24): each path that changes such a fact — the API, the browser forms, the admin, a reviewed
servicing request on another loan — and the step that reads it again. Every cell asserts the fact unchanged (or the
rule asked again at the later step) and the refusal recorded with its loan.

A step page is opened before the fact changes (a person had it open), then submitted: the rule is asked when the
form is posted, not when it was shown.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Customer, Status
from tests.api.conftest import drive, transition_data
from tests.factories import CustomerFactory, LoanFactory, add_guarantor
from tests.sidedoors.support import (
    admin_url,
    loan_facts,
    open_form,
    open_step,
    post_step,
    refused,
)

STEP_ACTOR = {"prepare_receipt": "rev", "disburse": "disb"}
STEP_STATUS = {"prepare_receipt": Status.CONTRACT_SIGNED, "disburse": Status.READY_TO_DISBURSE}


def person_row(customer: Customer) -> dict:
    return Customer.objects.filter(pk=customer.pk).values().get()


def flag_by_api(api, staff, customer: Customer) -> None:
    response = api(staff.boss).patch(f"/api/customers/{customer.pk}/", {"on_warning_list": True, "reason": "失信被执行人"},
                                     format="json")
    assert response.status_code == 200, response.json()


def flag_by_browser(client, staff, customer: Customer) -> None:
    client.force_login(staff.rev)
    _page, form = open_form(client, f"/customers/{customer.pk}/", testid="warning-form")
    data = {**form.data, "reason": ["法院失信被执行人名单"]}
    assert client.post(form.action, data).status_code == 302
    assert Customer.objects.get(pk=customer.pk).on_warning_list


# ---------------------------------------------------------------------------------------------------------------
# Rule 24: rules 1–2 once more at prepare_receipt and disburse, whoever flags whom and however


def _cell(flag: str, who: str, step: str):
    surface = "api: PATCH /api/customers/{id}/" if flag == "api" else "browser: warning-list form"
    return pytest.param(flag, who, step, id=f"{flag}-{who}-{step}", marks=pytest.mark.sidedoor(
        rule="24", path=f"{surface} ({who} listed), then the {step} page"))


@pytest.mark.parametrize(("flag", "who", "step"), [
    _cell("api", "borrower", "prepare_receipt"),
    _cell("browser", "borrower", "disburse"),
    _cell("browser", "guarantor", "prepare_receipt"),
    _cell("api", "guarantor", "disburse"),
])
def test_a_person_listed_after_approval_stops_the_step_page(client, api, staff, draft, flag, who, step):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, STEP_STATUS[step])
    actor = getattr(staff, STEP_ACTOR[step])
    client.force_login(actor)
    opened = open_step(client, loan, step)  # the page was open before the listing
    listed = loan.customer if who == "borrower" else guarantor
    (flag_by_api(api, staff, listed) if flag == "api" else flag_by_browser(client, staff, listed))
    before = loan_facts(loan)
    client.force_login(actor)

    response = post_step(client, opened, **({"payee_account": "6222020200112233445"} if step == "disburse" else {}))

    assert response.status_code == 400
    assert "credit warning list (rule 2)" in response.content.decode()
    assert loan_facts(loan) == before
    refused(code="warning_list", action=step, loan=loan, actor=actor)


# ---------------------------------------------------------------------------------------------------------------
# Rule 1: civil capacity


@pytest.fixture
def two_loans(staff, product, customer, draft):
    """One customer: an active loan, and a second one whose contract is signed."""
    active = drive(staff, draft, Status.ACTIVE)
    second = LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt, amount=Decimal("50000.00"))
    return active, drive(staff, second, Status.CONTRACT_SIGNED)


@pytest.mark.sidedoor(rule="1", path="api: change-of-borrower-data request on another active loan (civil capacity), "
                                     "then prepare_receipt")
def test_a_reviewed_change_of_civil_capacity_stops_the_customers_other_loan(api, staff, two_loans):
    active, second = two_loans
    filed = api(staff.mkt).post(f"/api/loans/{active.pk}/servicing-requests/", {
        "kind": "borrower_change", "reason": "法院宣告限制民事行为能力", "changes": {"civil_capacity": "limited"}},
        format="json")
    assert filed.status_code == 201, filed.json()
    assert api(staff.rev).post(f"/api/servicing-requests/{filed.json()['id']}/approve/", {"note": "核实"},
                               format="json").status_code == 200
    before = loan_facts(second)

    response = api(staff.rev).post(f"/api/loans/{second.pk}/transitions/prepare_receipt/",
                                   transition_data(staff, second, "prepare_receipt"), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "civil_capacity"), response.json()
    assert loan_facts(second) == before
    refused(code="civil_capacity", action="prepare_receipt", loan=second, actor=staff.rev)


@pytest.mark.sidedoor(rule="1", path="api: PATCH /api/customers/{id}/ civil_capacity after approval")
def test_civil_capacity_cannot_be_patched_after_approval(api, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)
    before = person_row(loan.customer)

    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"civil_capacity": "full"}, format="json")
    assert response.status_code == 200  # unchanged: not an edit
    response = api(staff.mkt).patch(f"/api/customers/{loan.customer_id}/", {"civil_capacity": "none"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "verified_fact"), response.json()
    assert person_row(loan.customer) == before
    refused(code="verified_fact", action="customer_update", loan=loan, actor=staff.mkt)


@pytest.mark.sidedoor(rule="1", path="browser: customer form /customers/{id}/edit/ civil capacity after approval")
def test_civil_capacity_cannot_be_changed_in_the_customer_form_after_approval(client, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)
    client.force_login(staff.mkt)
    url = f"/customers/{loan.customer_id}/edit/"
    _page, form = open_form(client, url, has_field="civil_capacity")
    before = person_row(loan.customer)

    response = client.post(url, {**form.data, "civil_capacity": ["limited"]})

    assert response.status_code == 409
    assert "rule 20" in response.content.decode()
    assert person_row(loan.customer) == before
    refused(code="verified_fact", action="customer_update", loan=loan, actor=staff.mkt)


# ---------------------------------------------------------------------------------------------------------------
# Rule 2: the warning list is set by its keepers only


@pytest.mark.sidedoor(rule="2", path="api: change-of-borrower-data request naming on_warning_list")
def test_a_servicing_request_cannot_take_a_borrower_off_the_warning_list(api, staff, draft):
    loan = drive(staff, draft, Status.ACTIVE)
    Customer.objects.filter(pk=loan.customer_id).update(on_warning_list=True)
    before = person_row(loan.customer)

    response = api(staff.mkt).post(f"/api/loans/{loan.pk}/servicing-requests/", {
        "kind": "borrower_change", "reason": "已还清", "changes": {"on_warning_list": False}}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "borrower_field"), response.json()
    assert person_row(loan.customer) == before
    assert not loan.servicing_requests.exists()
    refused(code="borrower_field", action="servicing_file", loan=loan, actor=staff.mkt)


@pytest.mark.sidedoor(rule="2", path="admin: customer change form (on_warning_list)")
def test_the_admin_does_not_take_a_customer_off_the_warning_list(client, staff, draft):
    loan = drive(staff, draft, Status.APPROVED)
    Customer.objects.filter(pk=loan.customer_id).update(on_warning_list=True)
    client.force_login(staff.boss)
    before = person_row(loan.customer)

    response = client.post(admin_url("applications_customer_change", loan.customer_id),
                           {"name": loan.customer.name, "on_warning_list": ""})

    assert response.status_code == 403
    assert person_row(loan.customer) == before
    refused(code="permission_denied", actor=staff.boss)


@pytest.mark.sidedoor(rule="2", path="api: PATCH /api/customers/{id}/ on_warning_list by the marketing officer")
def test_the_marketing_officer_does_not_take_their_customer_off_the_list(api, staff, draft):
    Customer.objects.filter(pk=draft.customer_id).update(on_warning_list=True)
    before = person_row(draft.customer)

    response = api(staff.mkt).patch(f"/api/customers/{draft.customer_id}/", {"on_warning_list": False, "reason": "误报"},
                                    format="json")

    assert (response.status_code, response.json()["code"]) == (403, "post_required"), response.json()
    assert person_row(draft.customer) == before
    refused(code="post_required", action="customer_update", actor=staff.mkt)


# ---------------------------------------------------------------------------------------------------------------
# Rule 5: the documents submit checked


@pytest.mark.sidedoor(rule="5", path="api: PATCH /api/loans/{id}/ documents of a submitted loan")
def test_a_submitted_loan_keeps_its_documents_through_the_api(api, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    before = loan_facts(loan)

    response = api(staff.mkt).patch(f"/api/loans/{loan.pk}/", {"documents": []}, format="json")

    assert response.status_code == 409, response.json()
    assert loan_facts(loan) == before
    refused(code=response.json()["code"], loan=loan, actor=staff.mkt)


@pytest.mark.sidedoor(rule="5", path="browser: /loans/{id}/edit/ of a submitted loan posted")
def test_a_submitted_loan_keeps_its_documents_through_the_edit_page(client, staff, draft):
    client.force_login(staff.mkt)
    _page, form = open_form(client, f"/loans/{draft.pk}/edit/", has_field="documents")  # opened while a draft
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    before = loan_facts(loan)
    data = {**form.data, "documents": []}

    response = client.post(f"/loans/{loan.pk}/edit/", data)

    assert response.status_code == 302
    assert loan_facts(loan) == before
    refused(code="invalid_state", action="update", loan=loan, actor=staff.mkt)


@pytest.mark.sidedoor(rule="5", path="browser: product form adds a required document, then a returned draft is submitted")
def test_a_document_the_product_now_requires_is_asked_at_the_next_submit(client, api, staff, product, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    assert api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/return_to_marketing/", {"reason": "补充材料"},
                               format="json").status_code == 200
    client.force_login(staff.gen)
    _page, form = open_form(client, f"/products/{product.pk}/edit/", has_field="required_documents")
    assert client.post(f"/products/{product.pk}/edit/",
                       {**form.data, "required_documents": [*form.data["required_documents"], "marriage_certificate"]}
                       ).status_code == 302
    before = loan_facts(loan)

    response = api(staff.mkt).post(f"/api/loans/{loan.pk}/transitions/submit/", {}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "documents_missing"), response.json()
    assert loan_facts(loan) == before
    refused(code="documents_missing", action="submit", loan=loan, actor=staff.mkt)


@pytest.mark.sidedoor(rule="5", path="admin: loan change form (documents)")
def test_the_admin_does_not_edit_a_loans_documents(client, staff, draft):
    loan = drive(staff, draft, Status.UNDER_REVIEW)
    client.force_login(staff.boss)
    before = loan_facts(loan)

    response = client.post(admin_url("applications_loan_change", loan.pk), {
        "documents-TOTAL_FORMS": "0", "documents-INITIAL_FORMS": "2"})

    assert response.status_code == 403
    assert loan_facts(loan) == before
    refused(code="permission_denied", actor=staff.boss)


# ---------------------------------------------------------------------------------------------------------------
# Rule 20: borrower data after disbursement changes through a reviewed request


@pytest.mark.sidedoor(rule="20", path="api: POST /api/servicing-requests/{id}/approve/ by its filer (borrower data)")
def test_the_filer_of_a_data_change_cannot_approve_it_through_the_api(api, staff, draft):
    from loancenter.services import staff_create
    from tests.conftest import PASSWORD

    both = staff_create(username="genrev", posts=["general", "reviewer"], password=PASSWORD, full_name="双岗")
    loan = drive(staff, draft, Status.ACTIVE)
    filed = api(both).post(f"/api/loans/{loan.pk}/servicing-requests/", {
        "kind": "borrower_change", "reason": "收入证明更新", "changes": {"monthly_income": "90000.00"}}, format="json")
    assert filed.status_code == 201, filed.json()
    before = person_row(loan.customer)

    response = api(both).post(f"/api/servicing-requests/{filed.json()['id']}/approve/", {"note": "同意"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "separation_of_duty"), response.json()
    assert person_row(loan.customer) == before
    refused(code="separation_of_duty", action="servicing_approve", loan=loan, actor=both)


@pytest.mark.sidedoor(rule="20", path="api: PATCH /api/customers/{id}/ monthly_income of a guarantor of an active loan")
def test_a_guarantors_income_changes_only_through_the_request(api, staff, draft):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, Status.ACTIVE)
    before = person_row(guarantor)

    response = api(staff.mkt).patch(f"/api/customers/{guarantor.pk}/", {"monthly_income": "1.00"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "verified_fact"), response.json()
    assert "rule 20" in response.json()["detail"]
    assert person_row(guarantor) == before
    refused(code="verified_fact", action="customer_update", loan=loan, actor=staff.mkt)


