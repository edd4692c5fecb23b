"""Read-only queries for the center-wide pages (the manager's approval dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from applications.models import Loan, Status
from loancenter.lib.dates import add_working_days, today

PENDING_DECISION = (Status.PENDING_APPROVAL, Status.PENDING_BRANCH_APPROVAL)


@dataclass
class ApprovalDashboard:
    pending: list[Loan]  # pending approvals and escalations, oldest first
    late_notifications: list[Loan]  # decided, customer not notified, past the deadline (rule 12)
    counts: dict[str, int]  # loans per status
    last_on_time_decision_day: date


def last_on_time_decision_day(as_of: date, working_days: int) -> date:
    """The latest decision day whose notice deadline has already passed on ``as_of``.

    A decision taken on day D must be notified by ``add_working_days(D, N)`` (rule 12); it is late on
    ``as_of`` when that deadline lies before ``as_of``. The deadline never decreases with D, so every
    decision on or before the returned day is late — one date bound instead of a per-row check.
    """
    day = as_of
    while add_working_days(day, working_days) >= as_of:
        day -= timedelta(days=1)
    return day


def late_notifications(as_of: date | None = None, where: Q | None = None) -> QuerySet[Loan]:
    as_of = as_of or today()
    last_day = last_on_time_decision_day(as_of, settings.DECISION_NOTICE_WORKING_DAYS)
    cutoff = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))
    return (
        _cut(where).filter(decided_at__isnull=False, decided_at__lt=cutoff, customer_notified_on__isnull=True)
        .select_related("customer", "product", "marketing_officer", "approver")
        .order_by("decided_at", "id")
    )


# The book's states hold almost every loan; the pipeline's states hold the few in progress.
BOOK_STATES = (Status.ACTIVE, Status.SETTLED, Status.WRITTEN_OFF)


def loans_per_status(snapshot_day: date | None = None) -> dict[str, int]:
    """Loans per state. With the day of the last nightly snapshot, the pipeline is counted live (an index range on
    status) and the book (active, settled, written off: almost every loan) is read from that snapshot, so the page
    never counts a million loans per view (docs/decisions.md); without one, everything is counted live."""
    from postloan.models import DailySnapshot

    if snapshot_day is None:
        rows = Loan.objects.values("status").annotate(n=Count("id")).order_by()
        return {row["status"]: row["n"] for row in rows}
    pipeline = [value for value in Status.values if value not in BOOK_STATES]
    rows = Loan.objects.filter(status__in=pipeline).values("status").annotate(n=Count("id")).order_by()
    counts = {row["status"]: row["n"] for row in rows}
    book = list(DailySnapshot.objects.filter(as_of=snapshot_day).values("status").annotate(n=Sum("loans")).order_by())
    if not book:  # no batch ran that day: count the book live
        book = Loan.objects.filter(status__in=BOOK_STATES).values("status").annotate(n=Count("id")).order_by()
    counts.update({row["status"]: row["n"] for row in book})
    return counts


def _cut(where: Q | None) -> QuerySet[Loan]:
    return Loan.objects.all() if where is None else Loan.objects.filter(where)


def approval_dashboard(as_of: date | None = None, snapshot_day: date | None = None,
                       where: Q | None = None) -> ApprovalDashboard:
    """The manager's dashboard in three queries, whatever the number of loans. ``where``: the loans of a cut (a
    unit, product, region, industry, officer — SPEC §13), counted live (the snapshot is of the whole book)."""
    as_of = as_of or today()
    pending = list(
        _cut(where).filter(status__in=PENDING_DECISION)
        .select_related("customer", "product", "marketing_officer", "escalated_by")
        .order_by("status_changed_at", "id")
    )
    late = list(late_notifications(as_of, where))
    for loan in late:
        loan.notice_due_on = add_working_days(timezone.localtime(loan.decided_at).date(),
                                              settings.DECISION_NOTICE_WORKING_DAYS)
    if where is None:
        counts = loans_per_status(snapshot_day)
    else:
        rows = _cut(where).values("status").annotate(n=Count("id")).order_by()
        counts = {row["status"]: row["n"] for row in rows}
    return ApprovalDashboard(
        pending=pending, late_notifications=late, counts=counts,
        last_on_time_decision_day=last_on_time_decision_day(as_of, settings.DECISION_NOTICE_WORKING_DAYS),
    )
