"""Rule 24 (SPEC §10): rules 1–2 are checked again at ``prepare_receipt`` and ``disburse``, for the borrower and every
guarantor.

Finding 3 of issue 13: a customer put on the credit warning list after approval was still paid.
"""

from __future__ import annotations

import pytest

from applications.models import Loan, Status
from applications.services import customer_set_warning
from loancenter.models import RefusedAttempt
from tests.api.conftest import drive, snapshot, transition_data
from tests.factories import CustomerFactory, add_guarantor


def flag(staff, customer) -> None:
    customer_set_warning(actor=staff.rev, customer=customer, on_warning_list=True, reason="法院失信被执行人")


@pytest.mark.sidedoor(rule="24", path="api: PATCH /api/customers/{id}/ on_warning_list, then prepare_receipt")
def test_a_borrower_put_on_the_warning_list_after_approval_gets_no_receipt(api, staff, draft):
    loan = drive(staff, draft, Status.CONTRACT_SIGNED)
    assert api(staff.boss).patch(f"/api/customers/{loan.customer_id}/", {"on_warning_list": True, "reason": "失信"},
                                 format="json").status_code == 200
    before = snapshot(loan)

    response = api(staff.rev).post(f"/api/loans/{loan.pk}/transitions/prepare_receipt/",
                                   transition_data(staff, loan, "prepare_receipt"), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "warning_list"), response.json()
    assert "rule 2" in response.json()["detail"]
    assert snapshot(loan) == before
    assert not hasattr(Loan.objects.get(pk=loan.pk), "receipt")
    assert RefusedAttempt.objects.filter(action="prepare_receipt", loan_id_ref=loan.pk, code="warning_list").exists()


@pytest.mark.sidedoor(rule="24", path="api: warning list after the receipt, then disburse")
def test_a_borrower_put_on_the_warning_list_after_the_receipt_is_not_paid(api, staff, draft):
    loan = drive(staff, draft, Status.READY_TO_DISBURSE)
    flag(staff, loan.customer)
    before = snapshot(loan)

    response = api(staff.disb).post(f"/api/loans/{loan.pk}/transitions/disburse/",
                                    transition_data(staff, loan, "disburse"), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "warning_list"), response.json()
    assert snapshot(loan) == before
    assert not Loan.objects.get(pk=loan.pk).installments.exists()
    assert RefusedAttempt.objects.filter(action="disburse", loan_id_ref=loan.pk, code="warning_list").exists()


@pytest.mark.sidedoor(rule="24", path="service: guarantor put on the warning list, then prepare_receipt and disburse")
@pytest.mark.parametrize(("flag_at", "step", "actor"), [(Status.CONTRACT_SIGNED, "prepare_receipt", "rev"),
                                                         (Status.READY_TO_DISBURSE, "disburse", "disb")])
def test_a_guarantor_put_on_the_warning_list_stops_the_receipt_and_the_payment(api, staff, draft, flag_at, step, actor):
    guarantor = CustomerFactory(officer=staff.mkt)
    add_guarantor(draft, guarantor)
    loan = drive(staff, draft, flag_at)
    flag(staff, guarantor)
    before = snapshot(loan)

    response = api(getattr(staff, actor)).post(f"/api/loans/{loan.pk}/transitions/{step}/",
                                               transition_data(staff, loan, step), format="json")

    assert (response.status_code, response.json()["code"]) == (400, "warning_list"), response.json()
    assert "Guarantor" in response.json()["detail"]
    assert snapshot(loan) == before


def test_taken_off_the_list_the_loan_goes_ahead(api, staff, draft):
    loan = drive(staff, draft, Status.READY_TO_DISBURSE)
    flag(staff, loan.customer)
    customer_set_warning(actor=staff.rev, customer=loan.customer, on_warning_list=False, reason="误报,已核实")

    response = api(staff.disb).post(f"/api/loans/{loan.pk}/transitions/disburse/",
                                    transition_data(staff, loan, "disburse"), format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.ACTIVE


@pytest.mark.sidedoor(rule="24", path="browser: warning-list form, then the prepare_receipt page")
def test_through_the_browser_the_warning_list_stops_the_receipt(client, staff, draft):
    loan = drive(staff, draft, Status.CONTRACT_SIGNED)
    client.force_login(staff.rev)
    assert client.post(f"/customers/{loan.customer_id}/warning/", {"on_warning_list": "on", "reason": "失信"}
                       ).status_code == 302
    before = snapshot(loan)

    response = client.post(f"/loans/{loan.pk}/do/prepare_receipt/", transition_data(staff, loan, "prepare_receipt"))

    assert response.status_code == 400
    assert "credit warning list (rule 2)" in response.content.decode()
    assert snapshot(loan) == before
    assert RefusedAttempt.objects.filter(action="prepare_receipt", loan_id_ref=loan.pk, code="warning_list").exists()
