"""Each collector's home page shows the post-loan work waiting for them (SPEC §8, §12; issue 18 part 7): their open
checks, their open signals and the promises to pay falling due, through the queues postloan registers."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from applications.models import Status
from loancenter.work import QUEUES, queues_for
from postloan.collections import collection_action_log
from postloan.models import CollectionCase, PostLoanCheck
from postloan.signals import signal_raise
from postloan.tasks import batch_start

SH = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10):
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=SH), tick=False)


@pytest.fixture
def overdue(staff, flow, draft):
    with at(date(2025, 1, 15)):
        loan = flow.advance(draft, Status.ACTIVE)
    with at(date(2025, 2, 21)):
        batch_start(as_of=date(2025, 2, 20))  # the first installment is unpaid: a T1 case for the officer
    return loan


def test_postloan_registers_its_queues():
    assert {"post_loan_checks", "warning_signals", "promises_due"} <= set(QUEUES)


def test_the_officers_home_shows_checks_signals_and_promises_due(staff, client, overdue):
    case = CollectionCase.objects.get(loan=overdue, closed_on__isnull=True)
    with at(date(2025, 2, 21)):
        signal_raise(loan_id=overdue.pk, actor=staff.mkt, code="job_loss", note="借款人称已失业")
        collection_action_log(case_id=case.pk, actor=staff.mkt, channel="phone",
                              contacted_at=datetime(2025, 2, 21, 9, 30, tzinfo=SH), target="borrower",
                              phone=overdue.customer.phone, answered=True, result="承诺下周还款",
                              promise_date=date(2025, 2, 25), promise_amount=Decimal("3000.00"))
        queues = {q["code"]: q for q in queues_for(staff.mkt)}
        client.force_login(staff.mkt)
        page = client.get("/").content.decode()
    checks = PostLoanCheck.objects.filter(loan=overdue, status="open").count()
    assert checks >= 1  # the fund-use check, and the check the signal brought
    assert queues["post_loan_checks"]["count"] == checks
    assert queues["warning_signals"]["count"] == 1
    assert queues["warning_signals"]["rows"][0].url == f"/postloan/loans/{overdue.pk}/"
    assert queues["promises_due"]["count"] == 1
    assert queues["promises_due"]["rows"][0].due == date(2025, 2, 25)
    assert 'data-testid="home-queues"' in page
    assert 'data-queue="promises_due"' in page and 'data-count="1"' in page
    assert f"/postloan/cases/{case.pk}/" in page
    # Someone else's home shows none of it; a post without post-loan work has no such section.
    assert {q["code"]: q["count"] for q in queues_for(staff.mkt2)} == {
        "post_loan_checks": 0, "warning_signals": 0, "promises_due": 0}
    assert queues_for(staff.rev) == []


def test_a_promise_outside_the_week_is_not_due_yet(staff, overdue):
    case = CollectionCase.objects.get(loan=overdue, closed_on__isnull=True)
    with at(date(2025, 2, 21)):
        collection_action_log(case_id=case.pk, actor=staff.mkt, channel="phone",
                              contacted_at=datetime(2025, 2, 21, 9, 30, tzinfo=SH), target="borrower",
                              phone=overdue.customer.phone, answered=True, result="月底还",
                              promise_date=date(2025, 2, 21) + timedelta(days=10), promise_amount=Decimal("500.00"))
        assert {q["code"]: q["count"] for q in queues_for(staff.mkt)}["promises_due"] == 0
    with at(date(2025, 2, 25)):
        assert {q["code"]: q["count"] for q in queues_for(staff.mkt)}["promises_due"] == 1
