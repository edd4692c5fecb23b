"""The separation-of-duty additions of SPEC §10 (finding 10 of issue 13): one person never plays two parts.

Found: a user holding ``approver`` and ``branch_approver`` escalated a loan and then approved it at branch level; a
user holding ``reviewer`` and ``disbursement`` stamped the receipt and released the funds.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from applications.models import Loan, Status
from disbursement.models import LoanReceipt
from disbursement.services import receipt_stamp
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.services import staff_create
from tests.api.conftest import drive, transition_data
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, LoanFactory


def url(loan: Loan, name: str) -> str:
    return f"/api/loans/{loan.pk}/transitions/{name}/"


def person(username: str, posts: list[str]):
    limit = Decimal("1000000.00") if {"approver", "branch_approver"} & set(posts) else None
    return staff_create(username=username, posts=posts, approval_limit=limit, password=PASSWORD, full_name=username)


def facts(loan: Loan) -> dict:
    return {
        "loan": Loan.objects.filter(pk=loan.pk).values().get(),
        "receipt": list(LoanReceipt.objects.filter(loan=loan).values()),
        "audit": list(AuditEntry.objects.filter(loan=loan).values_list("id", flat=True)),
    }


def assert_sod_refused(response, loan: Loan, before: dict, *, actor, action: str) -> None:
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "separation_of_duty"
    assert response.json()["detail"]
    assert facts(loan) == before
    attempt = RefusedAttempt.objects.order_by("-id").first()
    assert (attempt.loan_id_ref, attempt.actor_id, attempt.action, attempt.code) == (
        loan.pk, actor.pk, action, "separation_of_duty")


@pytest.fixture
def loan(staff, product):
    return LoanFactory(customer=CustomerFactory(officer=staff.mkt), product=product, marketing_officer=staff.mkt)


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/loans/{id}/transitions/approve/ (branch level)")
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_approver_who_escalated_may_not_decide_at_branch_level(api, staff, loan, decision):
    both = person("both", ["approver", "branch_approver"])
    drive(staff, loan, Status.PENDING_APPROVAL)
    response = api(both).post(url(loan, "escalate"), {"reason": "关联交易,报分行"}, format="json")
    assert response.json()["status"] == Status.PENDING_BRANCH_APPROVAL
    assert decision not in api(both).get(f"/api/loans/{loan.pk}/").json()["available_transitions"]
    before = facts(loan)

    data = transition_data(staff, loan, "approve") if decision == "approve" else {"reason": "不同意"}
    response = api(both).post(url(loan, decision), data, format="json")

    assert_sod_refused(response, loan, before, actor=both, action=decision)
    assert "escalat" in response.json()["detail"]
    # Another branch approver decides it.
    response = api(staff.branch).post(url(loan, decision), data, format="json")
    assert response.status_code == 200, response.json()


def test_an_approver_who_did_not_escalate_may_decide_at_branch_level(api, staff, loan):
    both = person("both", ["approver", "branch_approver"])
    drive(staff, loan, Status.PENDING_APPROVAL)
    api(staff.appr).post(url(loan, "escalate"), {"reason": "超出本人授权"}, format="json")
    response = api(both).post(url(loan, "approve"), transition_data(staff, loan, "approve"), format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == Status.APPROVED


@pytest.mark.sidedoor(rule="sod", path="api: POST /api/loans/{id}/transitions/disburse/")
def test_the_reviewer_who_stamped_the_receipt_may_not_disburse(api, staff, loan):
    both = person("both", ["reviewer", "disbursement"])
    drive(staff, loan, Status.CONTRACT_SIGNED)
    response = api(both).post(url(loan, "prepare_receipt"), transition_data(staff, loan, "prepare_receipt"),
                              format="json")
    assert response.json()["status"] == Status.READY_TO_DISBURSE
    assert "disburse" not in api(both).get(f"/api/loans/{loan.pk}/").json()["available_transitions"]
    before = facts(loan)

    response = api(both).post(url(loan, "disburse"), transition_data(staff, loan, "disburse"), format="json")

    assert_sod_refused(response, loan, before, actor=both, action="disburse")
    response = api(staff.disb).post(url(loan, "disburse"), transition_data(staff, loan, "disburse"), format="json")
    assert response.status_code == 200, response.json()


@pytest.mark.sidedoor(rule="sod", path="service: receipt_stamp")
def test_the_reviewer_who_stamped_a_receipt_prepared_by_another_may_not_disburse(api, staff, loan):
    both = person("both", ["reviewer", "disbursement"])
    drive(staff, loan, Status.CONTRACT_SIGNED)
    api(staff.rev).post(url(loan, "prepare_receipt"),
                        {**transition_data(staff, loan, "prepare_receipt"), "apply_stamp": False}, format="json")
    receipt_stamp(loan_id=loan.pk, actor=both)
    before = facts(loan)

    response = api(both).post(url(loan, "disburse"), transition_data(staff, loan, "disburse"), format="json")

    assert_sod_refused(response, loan, before, actor=both, action="disburse")


def test_a_reviewer_who_did_not_prepare_the_receipt_may_disburse(api, staff, loan):
    both = person("both", ["reviewer", "disbursement"])
    drive(staff, loan, Status.READY_TO_DISBURSE)  # the receipt prepared and stamped by rev
    response = api(both).post(url(loan, "disburse"), transition_data(staff, loan, "disburse"), format="json")
    assert response.status_code == 200, response.json()
