"""The book date and the figures derived from it at read time.

The nightly batch no longer rewrites every delinquent loan and overdue installment each night (issue 4): a loan keeps
the due date of its oldest unpaid installment (``Loan.oldest_unpaid_due``) and an installment keeps its penalty
interest as accrued up to its last change (``penalty_accrued`` through ``penalty_through``). Days past due and penalty
are computed from those facts for a date. Pages, reports and exports use the **book date** — the as-of date of the
latest finished nightly run — so that they agree with the tiers, grades and provisions that run set; payments,
settlement, prepayment and write-off use the date of the transaction.

Within a request the book date is read once (``request_started`` opens a memo, ``request_finished`` drops it);
outside requests (commands, Celery tasks, tests) every call reads it afresh.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Round

from loancenter.lib.money import q2

_UNSET = object()
_memo: ContextVar[dict | None] = ContextVar("book_date_memo", default=None)


def book_date() -> date | None:
    """As-of date of the latest finished nightly run; None before the first run."""
    memo = _memo.get()
    if memo is not None and memo.get("d", _UNSET) is not _UNSET:
        return memo["d"]
    from postloan.models import BatchRun

    value = BatchRun.objects.filter(status=BatchRun.DONE).order_by("-as_of").values_list("as_of", flat=True).first()
    if memo is not None:
        memo["d"] = value
    return value


def open_request_memo(**_kwargs) -> None:
    _memo.set({})


def close_request_memo(**_kwargs) -> None:
    _memo.set(None)


def cents(value: Decimal) -> Decimal:
    return q2(value)


class DaysFrom(Func):
    """Whole days from a date column to a fixed date, in SQL (PostgreSQL and SQLite)."""

    output_field = IntegerField()

    def __init__(self, expression, day: date):
        super().__init__(expression)
        self.day = day

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            return f"(CAST(%s AS DATE) - {sql})", [self.day, *params]
        return f"CAST(julianday(%s) - julianday({sql}) AS INTEGER)", [self.day.isoformat(), *params]


def penalty_on_sql(day: date):
    """An installment's penalty accrued up to ``day`` as an SQL expression (the closed form of Installment.penalty_on),
    for querysets of installments of active loans."""
    base = F("principal") - F("paid_principal") + F("interest") - F("paid_interest")
    since = Greatest(F("due_date"), Coalesce(F("penalty_through"), F("due_date")))
    from postloan.models import Repricing

    # The installment's rate (postloan.models.RateHistory.of): the new rate of the repricing its figures were computed
    # at (its ``repriced_on``), else the kept rate (rule 29); × (1 + the kept penalty markup) / 360.
    repriced = Repricing.objects.filter(loan_id=OuterRef("loan_id"), repriced_on=OuterRef("repriced_on"))
    contract = Coalesce(Subquery(repriced.values("new_rate")[:1]), F("loan__annual_rate"))
    rate = contract * (1 + F("loan__penalty_markup")) / 360
    # Penalty grows only while the loan is active (a written-off loan's stays as written off).
    days = Case(When(loan__status="active", then=Greatest(DaysFrom(since, day), Value(0))), default=Value(0))
    return Round(ExpressionWrapper(F("penalty_accrued") + base * rate * days, output_field=DecimalField()), 2)


_COUNTING = ("active", "written_off")  # the loans whose days past due count (Loan.days_past_due)


def dpd_at_least(days: int, on: date | None) -> Q:
    """Loans with at least ``days`` days past due on ``on``, as a filter on ``oldest_unpaid_due``."""
    if days <= 0:
        return Q()
    if on is None:
        return Q(pk__in=[])
    return Q(status__in=_COUNTING, oldest_unpaid_due__lte=on - timedelta(days=days))


def dpd_at_most(days: int, on: date | None) -> Q:
    """Loans with at most ``days`` days past due on ``on``."""
    if on is None:
        return Q()
    return ~Q(status__in=_COUNTING) | Q(oldest_unpaid_due__isnull=True) | Q(oldest_unpaid_due__gte=on - timedelta(days=max(days, 0)))


# Most days past due first (the oldest unpaid due date first; loans with nothing unpaid last).
MOST_OVERDUE_FIRST = F("oldest_unpaid_due").asc(nulls_last=True)


def forget() -> None:
    """A run just finished: the request that ran it (in-process) reads the new book date."""
    memo = _memo.get()
    if memo is not None:
        memo.pop("d", None)
