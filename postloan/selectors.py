"""Reads for the post-loan pages and API: what a loan carries after disbursement, and what waits for whom."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from applications.models import Loan, Status
from loancenter import posts as P
from loancenter.lib.money import ZERO
from postloan.book import book_date
from postloan.models import (
    CollectionCase,
    GradeChange,
    Installment,
    RepaymentAccount,
    ServicingRequest,
    WriteOff,
    rate_history,
)

SR = ServicingRequest


def loan_postloan_context(loan: Loan, user) -> dict:
    """Everything the loan's post-loan page (and the panel on the loan page) shows, and which buttons the user gets."""
    active = loan.status == Status.ACTIVE
    may_file = active and (user.has_post(P.GENERAL) or (user.has_post(P.MARKETING) and loan.marketing_officer_id == user.pk))
    return {
        "case": CollectionCase.objects.filter(loan=loan, closed_on__isnull=True).first(),
        "requests": SR.objects.filter(loan=loan).select_related("filed_by", "reviewed_by"),
        "write_offs": WriteOff.objects.filter(loan=loan).select_related("proposed_by"),
        "grade_changes": GradeChange.objects.filter(loan=loan).select_related("proposed_by", "decided_by"),
        "account": RepaymentAccount.objects.filter(loan=loan).first(),
        "kinds": SR.KINDS if may_file else [],
        "can_propose_write_off": active and user.has_post(P.GENERAL),
        "can_change_grade": active and user.has_any_post(P.REVIEWER, P.GENERAL, P.MANAGER),
        "can_decide_grade": user.has_any_post(P.MANAGER, P.REVIEWER),
        "can_notice": loan.status in (Status.ACTIVE, Status.WRITTEN_OFF) and loan.days_past_due > 0,
    }


def servicing_pending(user) -> QuerySet[ServicingRequest]:
    """Reviewers: requests waiting for review; general/disbursement: approved prepayments waiting for the money."""
    wanted = SR.objects.none()
    if user.has_post(P.REVIEWER):
        wanted = wanted | SR.objects.filter(status=SR.PENDING)
    if user.has_any_post(P.GENERAL, P.DISBURSEMENT):
        wanted = wanted | SR.objects.filter(status=SR.APPROVED, kind__in=[SR.PREPAY_PARTIAL, SR.PREPAY_FULL])
    if user.has_any_post(P.MARKETING, P.MANAGER):
        wanted = wanted | SR.objects.filter(status=SR.PENDING, filed_by=user)
    return wanted.select_related("loan__customer", "filed_by").order_by("filed_at", "id")


def pending_for(user) -> dict:
    write_offs = WriteOff.objects.none()
    if user.has_post(P.REVIEWER):
        write_offs = write_offs | WriteOff.objects.filter(status=WriteOff.PROPOSED)
    if user.has_any_post(P.MANAGER, P.APPROVER):
        write_offs = write_offs | WriteOff.objects.filter(status=WriteOff.REVIEWED)
    if user.has_post(P.GENERAL):
        write_offs = write_offs | WriteOff.objects.filter(status__in=[WriteOff.APPROVED, WriteOff.PROPOSED, WriteOff.REVIEWED])
    grade_changes = GradeChange.objects.none()
    if user.has_any_post(P.MANAGER, P.REVIEWER, P.GENERAL):
        grade_changes = GradeChange.objects.filter(status=GradeChange.PENDING)
    return {
        "requests": servicing_pending(user),
        "write_offs": write_offs.select_related("loan__customer", "proposed_by").order_by("proposed_at"),
        "grade_changes": grade_changes.select_related("loan__customer", "proposed_by").order_by("proposed_at"),
    }


# ---------------------------------------------------------------------------------------------------------------
# The schedule and repayments (the loan page, the schedule API, the repayment form)


@dataclass
class ScheduleTotals:
    principal: Decimal
    interest: Decimal
    paid_principal: Decimal
    paid_interest: Decimal
    penalty: Decimal
    paid_penalty: Decimal

    @property
    def installments(self) -> Decimal:
        return self.principal + self.interest


_SCHEDULE_FIELDS = ("principal", "interest", "paid_principal", "paid_interest", "penalty", "paid_penalty")


def schedule_totals(installments: list[Installment]) -> ScheduleTotals:
    """The totals row of a schedule already read (no second query)."""
    return ScheduleTotals(**{f: sum((getattr(i, f) for i in installments), ZERO) for f in _SCHEDULE_FIELDS})


def suggested_repayment_reference(loan: Loan) -> str:
    """A fresh reference for a counter payment; a double-clicked form sends it twice and is applied once."""
    return f"{loan.application_no}-{timezone.localtime():%Y%m%d%H%M%S}"


def schedule_as_of_book(loan: Loan, installments: list[Installment] | None = None) -> list[Installment]:
    """A loan's installments for display as of the book date (postloan.book), so that the schedule agrees with the
    days past due and grade of the same nightly run: each ``penalty`` as accrued up to it, and an installment not paid
    off that fell due before it shows as overdue. Read-only copies: never saved (``installments``: the loan's, in
    order, already read; they are changed in place)."""
    installments = list(loan.installments.order_by("number")) if installments is None else installments
    if any(i.paid_off_on is None for i in installments):
        book = book_date()
        rates = rate_history(loan) if loan.status == Status.ACTIVE else None
        for installment in installments:
            if rates is not None:
                installment.penalty = installment.penalty_on(book, rates.penalty_daily_rate(installment))
            if installment.paid_off_on is None and book is not None and installment.due_date < book:
                installment.status = Installment.OVERDUE
    return installments
