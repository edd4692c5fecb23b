"""Servicing requests (SPEC §3 rules 18–20): prepayment, extension, account and borrower data; SoD; refusals change nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.lib.dates import add_months
from loancenter.lib.errors import DomainError, SeparationOfDuty
from loancenter.lib.money import q2
from loancenter.models import AuditEntry
from loancenter.services import staff_create
from postloan import rules
from postloan.models import Installment, Repayment, RepaymentAccount, ServicingRequest
from postloan.services import repayment_post
from postloan.servicing import servicing_approve, servicing_execute, servicing_file, servicing_reject
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, add_guarantor

SH = ZoneInfo("Asia/Shanghai")
SR = ServicingRequest
RATE = Decimal("0.0435")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


@pytest.fixture
def loan(staff, flow, draft):
    with at(date(2025, 1, 15)):
        return flow.advance(draft, Status.ACTIVE)


@pytest.fixture
def guaranteed(staff, flow, draft):
    add_guarantor(draft, CustomerFactory(officer=staff.mkt))
    with at(date(2025, 1, 15)):
        return flow.advance(draft, Status.ACTIVE)


def schedule(loan):
    return list(Installment.objects.filter(loan=loan).order_by("number"))


def snapshot(loan):
    return (
        [(i.number, i.due_date, i.principal, i.interest, i.paid_principal) for i in schedule(loan)],
        SR.objects.count(), AuditEntry.objects.count(), Repayment.objects.count(),
    )


# ---------------------------------------------------------------------------------------------------------------
# Rule 19: extension limits at each bracket's boundary


@pytest.mark.parametrize("term, allowed", [(1, 1), (12, 12), (13, 6), (24, 12), (59, 29), (60, 30), (61, 36), (360, 36)])
def test_extension_limit_brackets(term, allowed):
    assert rules.extension_limit(term) == allowed
    rules.check_extension(original_term=term, already_extended=0, months=allowed, has_guarantors=False, consent=False)
    with pytest.raises(DomainError) as caught:
        rules.check_extension(original_term=term, already_extended=0, months=allowed + 1, has_guarantors=False, consent=False)
    assert caught.value.code == "extension_limit" and "rule 19" in caught.value.message


def test_extension_limit_is_cumulative(staff, loan):
    with at(date(2025, 2, 1)):
        first = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=10, reason="资金周转")
        servicing_approve(request_id=first.pk, actor=staff.rev)
        before = snapshot(loan)
        with pytest.raises(DomainError) as caught:  # 36 months: at most 18 in total; 10 granted
            servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=9)
        assert caught.value.code == "extension_limit"
        assert snapshot(loan) == before
        servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=8)


def test_extension_needs_the_guarantors_written_consent(staff, guaranteed):
    with at(date(2025, 2, 1)):
        before = snapshot(guaranteed)
        with pytest.raises(DomainError) as caught:
            servicing_file(loan_id=guaranteed.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=6)
        assert caught.value.code == "guarantor_consent"
        assert snapshot(guaranteed) == before
        request = servicing_file(loan_id=guaranteed.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=6,
                                 guarantor_consent=True)
        assert request.status == SR.PENDING


def test_approved_extension_rebuilds_schedule_to_new_maturity_and_restructures(staff, loan):
    with at(date(2025, 2, 15)):
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=schedule(loan)[0].principal + schedule(loan)[0].interest,
                       paid_on=date(2025, 2, 15), reference="P-1")
    loan.refresh_from_db()
    outstanding = loan.outstanding_principal
    old = schedule(loan)
    with at(date(2025, 3, 1)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=12)
        servicing_approve(request_id=request.pk, actor=staff.rev, note="同意展期")
    rows = schedule(loan)
    assert len(rows) == 48
    assert rows[0].paid_off_on == date(2025, 2, 15) and rows[0].principal == old[0].principal  # paid one untouched
    assert rows[-1].due_date == add_months(date(2025, 1, 15), 48)
    assert sum(r.principal for r in rows[1:]) == outstanding
    assert rows[1].principal + rows[1].interest < old[1].principal + old[1].interest  # lower installments
    loan.refresh_from_db()
    assert loan.restructured and loan.restructured_on == date(2025, 3, 1)
    assert loan.observation_until == date(2026, 3, 1)  # max(2 monthly periods, 1 year)
    assert loan.grade == "special_mention"
    assert loan.provision == q2(outstanding * Decimal("0.02"))
    request.refresh_from_db()
    assert request.status == SR.APPROVED and request.result["new_maturity"] == "2029-01-15"


def test_refused_approval_changes_nothing(staff, loan):
    with at(date(2025, 2, 1)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.EXTENSION, extension_months=6)
        before = snapshot(loan)
        for not_a_reviewer in (staff.mkt, staff.gen, staff.boss):
            with pytest.raises(DomainError) as caught:
                servicing_approve(request_id=request.pk, actor=not_a_reviewer)
            assert caught.value.code == "post_required"
        assert snapshot(loan) == before
        request.refresh_from_db()
        assert request.status == SR.PENDING


# ---------------------------------------------------------------------------------------------------------------
# SoD: the filer never approves their own request (SPEC §4)


def test_filer_never_approves_or_rejects_own_request(staff, loan):
    both = staff_create(username="genrev", posts=["general", "reviewer"], password=PASSWORD, full_name="genrev")
    with at(date(2025, 2, 1)):
        request = servicing_file(loan_id=loan.pk, actor=both, kind=SR.ACCOUNT, account_no="6222000011112222", bank="工行")
        for service, kwargs in ((servicing_approve, {}), (servicing_reject, {"note": "no"})):
            with pytest.raises(SeparationOfDuty) as caught:
                service(request_id=request.pk, actor=both, **kwargs)
            assert caught.value.code == "separation_of_duty"
        assert not RepaymentAccount.objects.exists()
        servicing_approve(request_id=request.pk, actor=staff.rev)
    assert RepaymentAccount.objects.get(loan=loan).account_no == "6222000011112222"


def test_only_the_loans_officer_or_general_files(staff, loan):
    with at(date(2025, 2, 1)), pytest.raises(DomainError) as caught:
        servicing_file(loan_id=loan.pk, actor=staff.mkt2, kind=SR.PREPAY_FULL)
    assert caught.value.code == "not_owner"
    assert not SR.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# Rule 20: account and borrower data, old values kept


def test_account_change_keeps_the_old_value(staff, loan):
    with at(date(2025, 2, 1)):
        first = servicing_file(loan_id=loan.pk, actor=staff.gen, kind=SR.ACCOUNT, account_no="6222000011112222", bank="工行")
        servicing_approve(request_id=first.pk, actor=staff.rev)
        second = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.ACCOUNT, account_no="6217000033334444", bank="建行")
        servicing_approve(request_id=second.pk, actor=staff.rev)
    second.refresh_from_db()
    assert second.old_value == {"account_no": "6222000011112222", "bank": "工行"}
    assert RepaymentAccount.objects.get(loan=loan).account_no == "6217000033334444"
    assert AuditEntry.objects.filter(action="servicing_approve", loan=loan).count() == 2


def test_borrower_data_change_applies_on_approval_with_old_values_audited(staff, loan):
    customer = loan.customer
    old_phone = customer.phone
    with at(date(2025, 2, 1)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.BORROWER,
                                 changes={"phone": "13911112222", "monthly_income": Decimal("25000.00")})
        customer.refresh_from_db()
        assert customer.phone == old_phone  # nothing changes before the review
        servicing_approve(request_id=request.pk, actor=staff.rev)
    customer.refresh_from_db()
    assert customer.phone == "13911112222" and customer.monthly_income == Decimal("25000.00")
    request.refresh_from_db()
    assert request.old_value["phone"] == old_phone and request.old_value["monthly_income"] == "20000.00"
    entry = AuditEntry.objects.get(action="customer_update", loan=loan)
    assert entry.payload["old"]["phone"] == old_phone


def test_invalid_borrower_data_is_refused_at_filing(staff, loan):
    from django.core.exceptions import ValidationError

    with at(date(2025, 2, 1)), pytest.raises(ValidationError):
        servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.BORROWER, changes={"phone": "12"})
    assert not SR.objects.exists()


# ---------------------------------------------------------------------------------------------------------------
# Rule 18: prepayment


def test_partial_prepayment_pays_due_items_then_principal_and_recomputes_same_term(staff, loan):
    old = schedule(loan)
    first = old[0]
    with at(date(2025, 3, 1)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PREPAY_PARTIAL, amount=Decimal("20000.00"))
        with pytest.raises(DomainError):  # not executed before it is approved
            servicing_execute(request_id=request.pk, actor=staff.gen, paid_on=date(2025, 3, 1), reference="PP-1")
        servicing_approve(request_id=request.pk, actor=staff.rev)
        with pytest.raises(DomainError):  # the money is posted by general / disbursement
            servicing_execute(request_id=request.pk, actor=staff.rev, paid_on=date(2025, 3, 1), reference="PP-1")
        servicing_execute(request_id=request.pk, actor=staff.gen, paid_on=date(2025, 3, 1), reference="PP-1")
    rows = schedule(loan)
    # Installment 1 was due 2025-02-15: 14 days of penalty on its principal and interest by 2025-03-01.
    penalty = ((first.principal + first.interest) * loan.annual_rate * (1 + loan.product.penalty_markup) / 360 * 14
               ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert penalty > 0
    due_now = first.principal + first.interest + penalty
    to_principal = Decimal("20000.00") - due_now
    assert rows[0].paid_off_on == date(2025, 3, 1)
    assert len(rows) == 36 and [r.due_date for r in rows] == [r.due_date for r in old]
    loan.refresh_from_db()
    assert loan.outstanding_principal == Decimal("100000.00") - first.principal - to_principal
    assert sum(r.principal for r in rows[1:]) == loan.outstanding_principal  # sums exactly
    assert all(r.principal + r.interest < o.principal + o.interest for r, o in zip(rows[2:], old[2:], strict=True))
    # Installment 2 carries the interest of the prepaid principal for the 14 days it was outstanding.
    balance = loan.outstanding_principal
    assert rows[1].interest == q2(balance * RATE / 12) + q2(to_principal * RATE / 360 * 14)
    repayment = Repayment.objects.get(reference="PP-1")
    assert repayment.amount == Decimal("20000.00") and repayment.to_principal == first.principal + to_principal
    assert loan.oldest_unpaid_due == date(2025, 3, 15)
    request.refresh_from_db()
    assert request.status == SR.EXECUTED


def test_partial_prepayment_covering_everything_is_refused(staff, loan):
    with at(date(2025, 2, 1)), pytest.raises(DomainError) as caught:
        servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PREPAY_PARTIAL, amount=Decimal("100000.00"))
    assert "full prepayment" in caught.value.message
    assert not SR.objects.exists()


def test_full_prepayment_pays_everything_with_accrued_interest_and_settles(staff, loan):
    with at(date(2025, 2, 15)):
        first = schedule(loan)[0]
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=first.principal + first.interest, paid_on=date(2025, 2, 15),
                       reference="P-1")
    loan.refresh_from_db()
    principal = loan.outstanding_principal
    with at(date(2025, 3, 1)):
        request = servicing_file(loan_id=loan.pk, actor=staff.gen, kind=SR.PREPAY_FULL, reason="卖房还款")
        servicing_approve(request_id=request.pk, actor=staff.rev)
        servicing_execute(request_id=request.pk, actor=staff.disb, paid_on=date(2025, 3, 1), reference="FP-1")
    loan.refresh_from_db()
    assert loan.status == Status.SETTLED
    assert loan.outstanding_principal == 0
    repayment = Repayment.objects.get(reference="FP-1")
    accrued = q2(principal * RATE / 360 * 14)
    assert repayment.amount == principal + accrued
    assert repayment.to_principal == principal and repayment.to_interest == accrued
    assert all(i.paid_off_on is not None for i in schedule(loan))
    assert AuditEntry.objects.filter(action="settle", loan=loan).count() == 1


def test_prepayment_reference_used_before_is_refused(staff, loan):
    with at(date(2025, 3, 1)):
        repayment_post(loan_id=loan.pk, actor=staff.gen, amount=Decimal("100.00"), paid_on=date(2025, 3, 1), reference="R-9")
        request = servicing_file(loan_id=loan.pk, actor=staff.gen, kind=SR.PREPAY_FULL)
        servicing_approve(request_id=request.pk, actor=staff.rev)
        before = snapshot(loan)
        with pytest.raises(DomainError) as caught:
            servicing_execute(request_id=request.pk, actor=staff.gen, paid_on=date(2025, 3, 1), reference="R-9")
        assert caught.value.code == "reference_reused"
    assert snapshot(loan) == before
    loan.refresh_from_db()
    assert loan.status == Status.ACTIVE


# ---------------------------------------------------------------------------------------------------------------
# Surfaces: the same services through the API and the browser


def test_api_file_and_filer_cannot_approve_then_reviewer_does(staff, loan, client):
    both = staff_create(username="genrev", posts=["general", "reviewer"], password=PASSWORD, full_name="genrev")
    client.force_login(both)
    with at(date(2025, 2, 1)):
        filed = client.post(f"/api/loans/{loan.pk}/servicing-requests/",
                            {"kind": "extension", "extension_months": 19}, content_type="application/json")
        assert filed.status_code == 400 and filed.json()["code"] == "extension_limit"
        filed = client.post(f"/api/loans/{loan.pk}/servicing-requests/",
                            {"kind": "extension", "extension_months": 6, "reason": "经营周转"}, content_type="application/json")
        assert filed.status_code == 201, filed.content
        request_id = filed.json()["id"]
        refused = client.post(f"/api/servicing-requests/{request_id}/approve/", {}, content_type="application/json")
        assert refused.status_code == 403 and refused.json()["code"] == "separation_of_duty"
        client.force_login(staff.rev)
        approved = client.post(f"/api/servicing-requests/{request_id}/approve/", {"note": "同意"},
                               content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    loan.refresh_from_db()
    assert loan.restructured


def test_browser_pages_file_and_review_a_request(staff, loan, client):
    client.force_login(staff.mkt)
    with at(date(2025, 2, 1)):
        page = client.get(f"/postloan/loans/{loan.pk}/")
        assert page.status_code == 200 and b"prepayment_partial" in page.content
        posted = client.post(f"/postloan/loans/{loan.pk}/servicing/account_change/",
                             {"account_no": "6222000011112222", "bank": "工行", "reason": "换卡"})
        assert posted.status_code == 302
        item = SR.objects.get()
        client.force_login(staff.rev)
        assert client.get("/postloan/pending/").content.count(f"/postloan/servicing/{item.pk}/".encode()) == 1
        client.post(f"/postloan/servicing/{item.pk}/approve/", {"note": ""})
        item.refresh_from_db()
        assert item.status == SR.APPROVED and item.reviewed_by == staff.rev
        detail = client.get(f"/postloan/servicing/{item.pk}/")
        assert detail.status_code == 200 and "6222000011112222" in detail.content.decode()


def test_outside_scope_is_404(staff, loan, client):
    client.force_login(staff.mkt2)
    assert client.get(f"/postloan/loans/{loan.pk}/").status_code == 404
    assert client.post(f"/api/loans/{loan.pk}/servicing-requests/", {"kind": "prepayment_full"},
                       content_type="application/json").status_code == 404
