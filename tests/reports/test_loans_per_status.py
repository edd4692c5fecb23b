"""The dashboard's loans per state: the pipeline live, the book (active, settled, written off) from the night's
snapshot, so a page view never counts every loan; without a snapshot for the day, everything live."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from applications.models import Status
from loancenter.selectors import loans_per_status
from postloan.models import DailySnapshot
from tests.factories import LoanFactory

DAY = date(2026, 11, 20)


def snapshot(product, status: str, loans: int) -> None:
    DailySnapshot.objects.create(as_of=DAY, product=product, status=status, grade="normal", tier="", loans=loans,
                                 balance=Decimal("1000.00") * loans, overdue_balance=0, provision=0)


def test_pipeline_live_and_book_from_the_snapshot(staff, flow, product, customer):
    flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.PENDING_APPROVAL)
    LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt)  # a draft
    snapshot(product, Status.ACTIVE, 7)
    snapshot(product, Status.SETTLED, 3)

    counts = loans_per_status(DAY)

    assert counts[Status.PENDING_APPROVAL] == 1 and counts[Status.DRAFT] == 1  # live
    assert counts[Status.ACTIVE] == 7 and counts[Status.SETTLED] == 3  # as of the night's snapshot


def test_without_a_snapshot_for_the_day_everything_is_counted_live(staff, flow, product, customer):
    flow.advance(LoanFactory(customer=customer, product=product, marketing_officer=staff.mkt), Status.ACTIVE)
    assert loans_per_status(None)[Status.ACTIVE] == 1
    assert loans_per_status(DAY)[Status.ACTIVE] == 1  # no snapshot rows that day
