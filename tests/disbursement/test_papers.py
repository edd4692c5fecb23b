"""The papers (issue 13 finding 16), read back with pdftotext: the receipt the borrower signs shows the full ID number
(and the view is recorded); the approval form shows the decision that was taken, by whom, when, on which terms and
why, in words; each paper renders only from the state where it exists, otherwise a 409 that says why."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Loan, Status
from loancenter.models import PiiView, RefusedAttempt

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils (pdftotext) is not installed")
SH = ZoneInfo("Asia/Shanghai")


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def squeezed(text: str) -> str:
    return " ".join(text.split())


def test_the_receipt_shows_the_full_id_number_and_records_the_view(client, staff, flow, draft):
    loan = flow.advance(draft, Status.READY_TO_DISBURSE)
    client.force_login(staff.disb)
    views = PiiView.objects.filter(customer=loan.customer, viewer=staff.disb).count()
    response = client.get(f"/loans/{loan.pk}/receipt.pdf")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert loan.customer.id_number in text
    assert loan.customer.masked_id_number not in text
    assert PiiView.objects.filter(customer=loan.customer, viewer=staff.disb, surface="pdf").count() == views + 1


@pytest.mark.parametrize("status", [Status.DRAFT, Status.APPROVED, Status.CONTRACT_SIGNED])
@pytest.mark.sidedoor(rule="refusal", path="browser: GET /loans/{id}/receipt.pdf (before prepare_receipt)")
def test_no_receipt_before_it_is_prepared(client, staff, flow, draft, status):
    loan = flow.advance(draft, status)
    client.force_login(staff.boss)
    response = client.get(f"/loans/{loan.pk}/receipt.pdf")
    assert response.status_code == 409
    assert "receipt" in response.content.decode()
    assert not PiiView.objects.filter(customer=loan.customer, surface="pdf").exists()
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("receipt_pdf", loan.pk, "invalid_state")


def test_the_approval_form_shows_the_decision_taken_not_the_current_status(client, staff, flow, draft):
    with time_machine.travel(datetime.combine(date(2025, 5, 6), time(10), tzinfo=SH), tick=False):
        loan = flow.advance(draft, Status.APPROVED)
    loan = flow.advance(loan, Status.ACTIVE)
    client.force_login(staff.rev)
    response = client.get(f"/loans/{loan.pk}/approval.pdf")
    assert response.status_code == 200
    text = squeezed(pdf_text(response.content))
    decision = text[text.index("Decision"):]
    assert decision.startswith(f"Decision Approved — {staff.appr.display} 2025-05-06")
    assert "Active" not in text  # the current status is not the decision
    assert "100,000.00 · 36 months · 4.35% · Equal installment" in text  # the approved terms, in words
    assert "同意" in text  # the approver's reason
    for code in ("equal_installment", "approve", "0.043500", "recommend"):
        assert code not in text


def test_the_approval_form_in_chinese(client, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    client.force_login(staff.rev)
    client.cookies["django_language"] = "zh-hans"
    text = squeezed(pdf_text(client.get(f"/loans/{loan.pk}/approval.pdf").content))
    assert "已批准" in text and "等额本息" in text
    assert "已批准 — " + staff.appr.display in text


def test_an_escalation_then_a_branch_decision_both_show(client, staff, flow, draft):
    from loancenter.transitions import perform

    loan = flow.advance(draft, Status.PENDING_APPROVAL)
    perform("escalate", loan_id=loan.pk, actor=staff.appr, data={"reason": "关联交易,提交分行"})
    perform("reject", loan_id=loan.pk, actor=staff.branch, data={"reason": "负债过高"})
    client.force_login(staff.rev)
    text = squeezed(pdf_text(client.get(f"/loans/{loan.pk}/approval.pdf").content))
    assert f"Decision Rejected — {staff.branch.display}" in text
    assert "Escalated to the" in text and "关联交易,提交分行" in text and "负债过高" in text


@pytest.mark.parametrize("status", [Status.DRAFT, Status.UNDER_REVIEW, Status.PENDING_APPROVAL])
@pytest.mark.sidedoor(rule="refusal", path="browser: GET /loans/{id}/approval.pdf (before a decision)")
def test_no_approval_form_before_a_decision(client, staff, flow, draft, status):
    loan = flow.advance(draft, status)
    client.force_login(staff.boss)
    response = client.get(f"/loans/{loan.pk}/approval.pdf")
    assert response.status_code == 409
    assert "decision" in response.content.decode()
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref) == ("approval_form_pdf", loan.pk)


@pytest.fixture
def overdue(flow, draft):
    with time_machine.travel(datetime.combine(date(2025, 1, 15), time(10), tzinfo=SH), tick=False):
        loan = flow.advance(draft, Status.ACTIVE)
    return loan


def test_the_collection_notice_for_an_overdue_loan(client, staff, overdue):
    client.force_login(staff.gen)
    response = client.get(f"/loans/{overdue.pk}/collection-notice.pdf")
    assert response.status_code == 200
    assert overdue.customer.name in pdf_text(response.content)


@pytest.mark.parametrize("status", [Status.DRAFT, Status.APPROVED, Status.ACTIVE])
@pytest.mark.sidedoor(rule="refusal", path="browser: GET /loans/{id}/collection-notice.pdf (not overdue)")
def test_no_collection_notice_unless_the_loan_is_overdue_and_active(client, staff, flow, draft, status):
    loan = flow.advance(draft, status)  # an active loan disbursed today owes nothing yet
    client.force_login(staff.gen)
    response = client.get(f"/loans/{loan.pk}/collection-notice.pdf")
    assert response.status_code == 409
    assert "overdue" in response.content.decode()
    refusal = RefusedAttempt.objects.order_by("-id").first()
    assert (refusal.action, refusal.loan_id_ref, refusal.code) == ("collection_notice_pdf", loan.pk, "invalid_state")


def test_no_collection_notice_for_a_settled_loan(client, staff, overdue):
    Loan.objects.filter(pk=overdue.pk).update(status=Status.SETTLED, oldest_unpaid_due=None)
    client.force_login(staff.gen)
    assert client.get(f"/loans/{overdue.pk}/collection-notice.pdf").status_code == 409


def test_a_paper_outside_the_scope_is_still_a_404(client, staff, flow, draft):
    loan = flow.advance(draft, Status.APPROVED)
    client.force_login(staff.mkt2)
    assert client.get(f"/loans/{loan.pk}/approval.pdf").status_code == 404
    assert client.get(f"/loans/{loan.pk}/collection-notice.pdf").status_code == 404
