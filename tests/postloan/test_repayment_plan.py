"""Negotiated repayment plan (协商还款计划) as a reviewed restructuring (SPEC §12 collections strategy, §6 observation).

The rebuilt schedule is checked against a computation written here from first principles (annuity or level principal,
interest on the balance at rate/12, penalty at rate × 1.5 / 360 a day, arrears spread in equal cents), not through the
application's schedule code.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.lib.errors import DomainError
from loancenter.models import AuditEntry, RefusedAttempt
from loancenter.services import staff_create
from postloan.models import Installment, ServicingRequest
from postloan.reports import classification_report
from postloan.services import repayment_post
from postloan.servicing import servicing_approve, servicing_file
from postloan.tasks import batch_start
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory, add_guarantor

SH = ZoneInfo("Asia/Shanghai")
SR = ServicingRequest
RATE = Decimal("0.0435")
CENT = Decimal("0.01")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


def c(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def schedule(loan):
    return list(Installment.objects.filter(loan=loan).order_by("number"))


def pay(loan, actor, amount, on, ref):
    with at(on):
        repayment_post(loan_id=loan.pk, actor=actor, amount=amount, paid_on=on, reference=ref)


@pytest.fixture
def loan(staff, flow, draft):
    """100,000 over 36 months at 4.35 %, equal installments, value date 2025-01-15. Installment 1 paid on time,
    1,000 paid on installment 2 on its due date, nothing since: on 2025-05-20 installments 2–4 are overdue."""
    with at(date(2025, 1, 15)):
        loan = flow.advance(draft, Status.ACTIVE)
    first = schedule(loan)[0]
    pay(loan, staff.gen, first.principal + first.interest, date(2025, 2, 15), "P-1")
    pay(loan, staff.gen, Decimal("1000.00"), date(2025, 3, 15), "P-2")
    loan.refresh_from_db()
    return loan


def expected_plan(before: list[Installment], *, on: date, months: int, method: str, first_due_dates: list[date]):
    """The plan computed from the schedule before approval, independently of postloan.schedule/servicing."""
    daily = RATE * Decimal("1.5") / 360
    principal = sum(i.principal - i.paid_principal for i in before)
    arrears_interest = sum(i.interest - i.paid_interest for i in before if i.paid_off_on is None and i.due_date <= on)
    arrears_penalty = sum(
        c((i.principal - i.paid_principal + i.interest - i.paid_interest) * daily * (on - i.due_date).days) - i.paid_penalty
        for i in before if i.paid_off_on is None and i.due_date < on
    )
    r = RATE / 12
    balance, rows = principal, []
    if method == "equal_installment":
        payment = c(principal * r / (1 - (1 + r) ** -months))
    for k in range(months):
        interest = c(balance * r)
        if k == months - 1:
            part = balance
        elif method == "equal_installment":
            part = payment - interest
        else:
            part = c(principal / months)
        rows.append([part, interest])
        balance -= part
    arrears = arrears_interest + arrears_penalty
    share = (arrears / months).quantize(CENT, rounding=ROUND_DOWN)
    for k, row in enumerate(rows):
        row[1] += share if k < months - 1 else arrears - share * (months - 1)
    return principal, arrears_interest, arrears_penalty, [(d, p, i) for d, (p, i) in zip(first_due_dates, rows, strict=True)]


def monthly(start: date, n: int) -> list[date]:
    out, y, m = [], start.year, start.month
    for _ in range(n):
        out.append(date(y, m, start.day))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.mark.parametrize("method", ["equal_principal", "equal_installment"])
def test_approved_plan_rebuilds_the_schedule_exactly(staff, loan, method):
    on = date(2025, 5, 20)
    before = schedule(loan)
    paid_first = (before[0].number, before[0].due_date, before[0].principal, before[0].interest, before[0].paid_off_on)
    second = before[1]
    principal, a_int, a_pen, rows = expected_plan(before, on=on, months=12, method=method,
                                                  first_due_dates=monthly(date(2025, 6, 15), 12))
    assert principal == loan.outstanding_principal and a_pen > 0
    with at(on):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=12, plan_method=method,
                                 reason="借款人失业,协商分12期偿还")
        servicing_approve(request_id=request.pk, actor=staff.rev, note="同意重组")
    after = schedule(loan)
    # Paid installment untouched; the partly paid one closed at what was paid.
    assert (after[0].number, after[0].due_date, after[0].principal, after[0].interest, after[0].paid_off_on) == paid_first
    assert after[1].number == 2 and after[1].principal == second.paid_principal
    assert after[1].interest == second.paid_interest and after[1].paid_off_on == on
    # The unpaid installments replaced by the plan: month indexes 5–16 (the first due after the approval).
    new = after[2:]
    assert [i.number for i in new] == list(range(5, 17))
    assert [(i.due_date, i.principal, i.interest) for i in new] == rows
    assert sum(i.principal for i in new) == loan.outstanding_principal  # exact to the cent
    assert sum(i.interest for i in new) == sum(r[2] for r in rows)
    assert all(i.paid_principal == 0 and i.paid_off_on is None for i in new)
    request.refresh_from_db()
    assert request.status == SR.APPROVED and request.reviewed_by == staff.rev
    assert Decimal(request.result["arrears_interest"]) == a_int and Decimal(request.result["arrears_penalty"]) == a_pen
    assert len(request.result["replaced"]) == 34  # installments 3–36 as they were, kept in the request
    loan.refresh_from_db()
    assert loan.restructured and loan.restructured_on == on and loan.observation_until == date(2026, 5, 20)
    assert loan.grade == "special_mention" and loan.oldest_unpaid_due == date(2025, 6, 15)
    with at(on):
        assert loan.days_past_due_on(on) == 0
    assert AuditEntry.objects.filter(action="servicing_approve", loan=loan).exists()


@pytest.mark.sidedoor(rule="sod", path="service: servicing_approve of a repayment plan by the person who filed it")
def test_plan_approved_by_its_filer_is_refused(staff, loan):
    both = staff_create(username="gen_rev", posts=["general", "reviewer"], password=PASSWORD, full_name="gen_rev")
    with at(date(2025, 5, 20)):
        request = servicing_file(loan_id=loan.pk, actor=both, kind=SR.PLAN, plan_months=12, plan_method="equal_principal")
        before = [(i.number, i.principal, i.interest) for i in schedule(loan)]
        with pytest.raises(DomainError) as caught:
            servicing_approve(request_id=request.pk, actor=both)
    assert caught.value.code == "separation_of_duty" and caught.value.status == 403
    assert [(i.number, i.principal, i.interest) for i in schedule(loan)] == before
    request.refresh_from_db()
    loan.refresh_from_db()
    assert request.status == SR.PENDING and not loan.restructured
    assert RefusedAttempt.objects.filter(action="servicing_approve", loan_id_ref=loan.pk,
                                         code="separation_of_duty").exists()


def test_plan_needs_arrears_terms_and_guarantor_consent(staff, flow, draft):
    add_guarantor(draft, CustomerFactory(officer=staff.mkt))
    with at(date(2025, 1, 15)):
        loan = flow.advance(draft, Status.ACTIVE)
    with at(date(2025, 2, 10)), pytest.raises(DomainError) as current:  # nothing overdue yet
        servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=12, plan_method="equal_principal")
    assert current.value.code == "not_in_arrears"
    with at(date(2025, 4, 1)):
        for months, method, code in [(12, "equal_principal", "guarantor_consent"), (0, "equal_principal", "plan_months"),
                                     (12, "bullet", "plan_method")]:
            with pytest.raises(DomainError) as caught:
                servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=months, plan_method=method)
            assert caught.value.code == code
        assert not SR.objects.filter(loan=loan).exists()
        servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=12, plan_method="equal_principal",
                       guarantor_consent=True)


def test_observation_keeps_special_mention_and_a_missed_payment_restarts_it(staff, loan):
    with at(date(2025, 5, 20)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=24,
                                 plan_method="equal_principal")
        servicing_approve(request_id=request.pk, actor=staff.rev)
    with at(date(2025, 6, 11)):
        batch_start(as_of=date(2025, 6, 10))  # no day past due: the observation period alone holds 关注
    loan.refresh_from_db()
    assert loan.grade == "special_mention" and loan.collection_tier == "" and loan.observation_until == date(2026, 5, 20)
    with at(date(2025, 6, 21)):
        batch_start(as_of=date(2025, 6, 20))  # the plan's first installment (06-15) missed: the clock restarts
    loan.refresh_from_db()
    assert loan.grade == "special_mention" and loan.observation_until == date(2026, 6, 20)


def test_observation_ends_after_a_year_paid_on_time(staff, loan):
    with at(date(2025, 5, 20)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=24,
                                 plan_method="equal_principal")
        servicing_approve(request_id=request.pk, actor=staff.rev)
    for k, inst in enumerate(i for i in schedule(loan) if i.paid_off_on is None and i.due_date <= date(2026, 5, 21)):
        pay(loan, staff.gen, inst.principal + inst.interest, inst.due_date, f"PLAN-{k}")
    with at(date(2026, 5, 20)):
        batch_start(as_of=date(2026, 5, 19))  # still inside the observation period
    loan.refresh_from_db()
    assert loan.grade == "special_mention"
    with at(date(2026, 5, 22)):
        batch_start(as_of=date(2026, 5, 21))
    loan.refresh_from_db()
    assert loan.grade == "normal" and loan.restructured


def test_classification_report_counts_the_restructured_loan(staff, loan):
    with at(date(2025, 5, 20)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=12,
                                 plan_method="equal_principal")
        servicing_approve(request_id=request.pk, actor=staff.rev)
    with at(date(2025, 6, 1)):
        batch_start(as_of=date(2025, 5, 31))  # a month end: the report's rows
    report = classification_report(date(2025, 5, 31))
    line = next(g for g in report.grades if g.grade == "special_mention")
    assert line.loans == 1 and line.restructured_loans == 1
    loan.refresh_from_db()
    assert line.restructured_balance == loan.outstanding_principal
    assert report.total.restructured_loans == 1


def test_dashboard_counts_the_restructured_loan(client, staff, loan):
    with at(date(2025, 5, 20)):
        request = servicing_file(loan_id=loan.pk, actor=staff.mkt, kind=SR.PLAN, plan_months=12,
                                 plan_method="equal_principal")
        servicing_approve(request_id=request.pk, actor=staff.rev)
        client.force_login(staff.boss)
        page = client.get("/dashboard/")
    assert page.status_code == 200
    figures = page.context["monitoring"]["restructured"]
    loan.refresh_from_db()
    assert figures == {"loans": 1, "balance": loan.outstanding_principal, "observed": 1}
    assert 'data-testid="restructured"><div class="n">1</div>' in page.content.decode()


def test_plan_filed_and_approved_through_the_api(api, staff, loan):
    with at(date(2025, 5, 20)):
        filed = api(staff.gen).post(f"/api/loans/{loan.pk}/servicing-requests/", {
            "kind": "repayment_plan", "plan_months": 12, "plan_method": "equal_installment", "reason": "协商分期"},
            format="json")
        assert filed.status_code == 201, filed.content
        body = filed.json()
        assert (body["kind"], body["plan_months"], body["plan_method"], body["status"]) == (
            "repayment_plan", 12, "equal_installment", "pending")
        approved = api(staff.rev).post(f"/api/servicing-requests/{body['id']}/approve/", {"note": "同意"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["result"]["first_due"] == "2025-06-15"
    loan.refresh_from_db()
    assert loan.restructured and sum(i.principal for i in schedule(loan) if i.paid_off_on is None) == \
        loan.outstanding_principal


def test_plan_form_shows_its_fields_and_the_reviewer_sees_the_plan(client, staff, loan):
    with at(date(2025, 5, 20)):
        client.force_login(staff.mkt)
        url = f"/postloan/loans/{loan.pk}/servicing/repayment_plan/"
        page = client.get(url)
        assert [r["name"] for r in page.context["rows"]] == ["reason", "plan_months", "plan_method", "guarantor_consent"]
        done = client.post(url, {"reason": "失业,协商还款", "plan_months": "12", "plan_method": "equal_principal"})
        assert done.status_code == 302
        request = ServicingRequest.objects.get(loan=loan, kind=SR.PLAN)
        client.force_login(staff.rev)
        detail = client.get(f"/postloan/servicing/{request.pk}/")
        assert detail.status_code == 200
        plan = detail.context["plan"]
        assert len(plan.rows) == 12 and sum(r.principal for r in plan.rows) == loan.outstanding_principal
        assert 'data-testid="plan-preview"' in detail.content.decode()
        approved = client.post(f"/postloan/servicing/{request.pk}/approve/", {"note": "同意", "version": request.version})
    assert approved.status_code == 302
    request.refresh_from_db()
    assert request.status == SR.APPROVED
