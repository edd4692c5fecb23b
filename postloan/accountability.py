"""Officer accountability (issue 16 part 4): per marketing officer and unit, by vintage (the year the application
was entered), what they originated — applications, decisions and approval rate, amount disbursed — and how those
loans perform now: overdue and non-performing balance as shares of the outstanding balance, and the post-loan work
open on them (checks, of which overdue, and early-warning signals; SPEC §12).

The originator is ``Loan.originator`` (the first marketing officer, kept by hand-overs), so an officer answers for
what they brought in even after it was handed to a successor; the unit is the loan's unit now.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, ExtractYear

from applications.models import Status
from loancenter.lib.dates import today
from loancenter.lib.money import ZERO
from loancenter.models import User
from postloan.book import book_date, dpd_at_least
from postloan.monitoring_models import PostLoanCheck, Signal
from postloan.reports import NPL_GRADES, ratio

DECIDED = (Status.APPROVED, Status.CONTRACT_SIGNED, Status.COLLATERAL_REGISTERED, Status.READY_TO_DISBURSE,
           Status.ACTIVE, Status.SETTLED, Status.WRITTEN_OFF, Status.REJECTED)
BOOKED = (Status.ACTIVE, Status.SETTLED, Status.WRITTEN_OFF)


@dataclass
class OfficerLine:
    officer_id: int
    officer: str
    unit: str
    vintage: int
    applications: int
    decided: int
    approved: int
    disbursed_loans: int
    disbursed_amount: Decimal
    balance: Decimal
    overdue_balance: Decimal
    npl_balance: Decimal
    open_checks: int = 0
    overdue_checks: int = 0
    open_signals: int = 0

    @property
    def approval_rate(self) -> Decimal | None:
        return ratio(self.approved, self.decided)

    @property
    def overdue_rate(self) -> Decimal | None:
        return ratio(self.overdue_balance, self.balance)

    @property
    def npl_rate(self) -> Decimal | None:
        return ratio(self.npl_balance, self.balance)


def officer_lines(loans) -> list[OfficerLine]:
    """One line per originator, unit and vintage of ``loans`` (the reader's scope, cut by the filters): one query."""
    day = book_date()  # days past due are as of the last nightly run (none before the first: nothing overdue)
    active = Q(status=Status.ACTIVE)
    rows = (
        loans.annotate(who=Coalesce("originator_id", "marketing_officer_id"), vintage=ExtractYear("created_at"))
        .values("who", "unit__name", "vintage")
        .annotate(
            applications=Count("id"),
            decided=Count("id", filter=Q(status__in=DECIDED)),
            approved=Count("id", filter=Q(status__in=DECIDED) & ~Q(status=Status.REJECTED)),
            disbursed_loans=Count("id", filter=Q(status__in=BOOKED)),
            disbursed_amount=Sum("approved_amount", filter=Q(status__in=BOOKED)),
            balance=Sum("outstanding_principal", filter=active),
            overdue=Sum("outstanding_principal", filter=active & dpd_at_least(1, day)),
            npl=Sum("outstanding_principal", filter=active & Q(grade__in=NPL_GRADES)),
        )
        .order_by("who", "unit__name", "vintage")
    )
    rows = list(rows)
    names = dict(User.objects.filter(pk__in={r["who"] for r in rows}).values_list("pk", "username"))
    work = _open_work(loans)
    return [
        OfficerLine(officer_id=r["who"], officer=names.get(r["who"], ""), unit=r["unit__name"], vintage=r["vintage"],
                    applications=r["applications"], decided=r["decided"], approved=r["approved"],
                    disbursed_loans=r["disbursed_loans"], disbursed_amount=r["disbursed_amount"] or ZERO,
                    balance=r["balance"] or ZERO, overdue_balance=r["overdue"] or ZERO, npl_balance=r["npl"] or ZERO,
                    **work.get((r["who"], r["unit__name"], r["vintage"]), {}))
        for r in rows
    ]


def _open_work(loans) -> dict[tuple, dict[str, int]]:
    """Open checks (and how many are overdue) and open signals on ``loans``, by the same originator, unit and
    vintage as the lines: two grouped queries, whatever the size of the book."""
    key = {"who": Coalesce("loan__originator_id", "loan__marketing_officer_id"), "unit": F("loan__unit__name"),
           "vintage": ExtractYear("loan__created_at")}
    work: dict[tuple, dict[str, int]] = {}
    checks = (PostLoanCheck.objects.filter(status=PostLoanCheck.OPEN, loan__in=loans).values(**key)
              .annotate(n=Count("id"), late=Count("id", filter=Q(due_on__lt=today()))))
    for r in checks:
        work.setdefault((r["who"], r["unit"], r["vintage"]), {}).update(open_checks=r["n"], overdue_checks=r["late"])
    for r in Signal.objects.filter(status=Signal.OPEN, loan__in=loans).values(**key).annotate(n=Count("id")):
        work.setdefault((r["who"], r["unit"], r["vintage"]), {})["open_signals"] = r["n"]
    return work


def originated_by(loans, user):
    """An officer's own loans: those they originated."""
    return loans.filter(Q(originator=user) | Q(originator__isnull=True, marketing_officer=user))

