"""The scorecard's validation report for the manager (SPEC §15): by rating and vintage, the count, the approval rate
and the share ever 90+ days past due within 12 months; over the loans with 12 months' history, the Gini coefficient
and the KS statistic of the score; the override rate by approver.

Set-based: a handful of grouped queries and one pass over the disbursed loans' (score, outcome) pairs, never a query
per loan. "Ever 90+ days past due within 12 months": an installment due in the loan's first twelve months (365 days
from disbursement) still unpaid 90 days after its due date, at a day within those twelve months (docs/decisions.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth

from applications.models import Status
from applications.pricing.scoring import RATINGS
from applications.pricing.services import override_rate_by_approver
from disbursement.models import Disbursement
from postloan.models import Installment

HISTORY_DAYS = 365  # "12 months' history"
BAD_DPD = 90  # "90+ days past due"


def gini_ks(pairs: Iterable[tuple[int, bool]]) -> tuple[float | None, float | None]:
    """Gini and KS of a score against a bad outcome; a higher score means a better borrower.

    Gini = 2·AUC − 1, where AUC is the chance that a random good scores above a random bad (a tie counts half): the
    Mann–Whitney statistic. KS = the largest gap between the cumulative share of bads and of goods at or below a
    score. None when there are no goods or no bads (nothing to tell apart).
    """
    by_score: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # score → [goods, bads]
    for score, bad in pairs:
        by_score[int(score)][1 if bad else 0] += 1
    goods = sum(g for g, _b in by_score.values())
    bads = sum(b for _g, b in by_score.values())
    if not goods or not bads:
        return None, None
    concordant = 0.0  # pairs (good, bad) with the good scoring higher, ties counting half
    bads_below = 0
    cum_goods = cum_bads = 0
    ks = 0.0
    for score in sorted(by_score):
        g, b = by_score[score]
        concordant += g * bads_below + 0.5 * g * b
        bads_below += b
        cum_goods += g
        cum_bads += b
        ks = max(ks, abs(cum_bads / bads - cum_goods / goods))
    auc = concordant / (goods * bads)
    return 2 * auc - 1, ks


@dataclass
class Cell:
    rating: str
    vintage: date | None  # the first day of the month
    decided: int = 0
    approved: int = 0
    disbursed: int = 0
    mature: int = 0  # with 12 months' history
    bad: int = 0  # of those, ever 90+ DPD within 12 months

    @property
    def approval_rate(self) -> Decimal | None:
        return Decimal(self.approved) / self.decided if self.decided else None

    @property
    def bad_rate(self) -> Decimal | None:
        return Decimal(self.bad) / self.mature if self.mature else None


@dataclass
class Report:
    as_of: date
    cells: list[Cell]
    by_rating: list[Cell]
    total: Cell
    gini: float | None
    ks: float | None
    scored: int  # loans with 12 months' history and a score
    approvers: list[dict] = field(default_factory=list)
    override_rate: Decimal | None = None


def _month(value) -> date | None:
    if value is None:
        return None
    return date(value.year, value.month, 1)


def validation_report(loans, *, as_of: date) -> Report:
    """``loans``: the loans in the reader's scope (a queryset); ``as_of``: the book date."""
    rated = loans.exclude(rating="")
    cells: dict[tuple[str, date | None], Cell] = {}

    def cell(rating, vintage) -> Cell:
        key = (rating, vintage)
        if key not in cells:
            cells[key] = Cell(rating, vintage)
        return cells[key]

    # Decisions by the month of the decision: the approval rate.
    decided = (rated.filter(decided_at__isnull=False).annotate(month=TruncMonth("decided_at"))
               .values("rating", "month")
               .annotate(n=Count("id"), approved=Count("id", filter=~Q(status=Status.REJECTED))))
    for row in decided:
        c = cell(row["rating"], _month(row["month"]))
        c.decided, c.approved = row["n"], row["approved"]

    # Disbursements by the month of disbursement (the vintage) and their outcome.
    horizon = as_of - timedelta(days=HISTORY_DAYS)
    disbursed = Disbursement.objects.filter(loan__in=rated.values("pk")).values_list(
        "loan_id", "loan__rating", "loan__score", "disbursed_on")
    mature: dict[int, tuple[str, int, date]] = {}
    for loan_id, rating, score, on in disbursed.iterator(chunk_size=5000):
        c = cell(rating, _month(on))
        c.disbursed += 1
        if on <= horizon:
            c.mature += 1
            mature[loan_id] = (rating, score, on)
    bad_loans = _ever_bad(mature, as_of)
    for loan_id in bad_loans:
        rating, _score, on = mature[loan_id]
        cell(rating, _month(on)).bad += 1

    gini, ks = gini_ks((score, loan_id in bad_loans) for loan_id, (_r, score, _on) in mature.items()
                       if score is not None)
    ordered = sorted(cells.values(), key=lambda c: (RATINGS.index(c.rating) if c.rating in RATINGS else 9,
                                                    c.vintage or date.min))
    by_rating = []
    for rating in RATINGS:
        mine = [c for c in ordered if c.rating == rating]
        if mine:
            by_rating.append(_sum(mine, rating))
    approvers = override_rate_by_approver(loans)
    approvals = sum(a["approvals"] for a in approvers)
    overrides = sum(a["overrides"] for a in approvers)
    return Report(as_of=as_of, cells=ordered, by_rating=by_rating, total=_sum(ordered, ""), gini=gini, ks=ks,
                  scored=sum(1 for _r, s, _o in mature.values() if s is not None), approvers=approvers,
                  override_rate=(Decimal(overrides) / approvals) if approvals else None)


def _sum(cells: list[Cell], rating: str) -> Cell:
    total = Cell(rating, None)
    for c in cells:
        total.decided += c.decided
        total.approved += c.approved
        total.disbursed += c.disbursed
        total.mature += c.mature
        total.bad += c.bad
    return total


def _ever_bad(mature: dict[int, tuple[str, int, date]], as_of: date) -> set[int]:
    """The mature loans with an installment due in their first twelve months unpaid 90 days after its due date
    within those months. Only late installments are read (paid after their due date, or not yet)."""
    if not mature:
        return set()
    late = (Installment.objects.filter(Q(paid_off_on__isnull=True) | Q(paid_off_on__gt=F("due_date")))
            .filter(due_date__lte=as_of - timedelta(days=BAD_DPD), loan__disbursement__isnull=False,
                    loan__rating__gt="")
            .values_list("loan_id", "due_date", "paid_off_on"))
    bad: set[int] = set()
    for loan_id, due, paid in late.iterator(chunk_size=10000):
        if loan_id in bad or loan_id not in mature:
            continue
        end = mature[loan_id][2] + timedelta(days=HISTORY_DAYS)
        reached = due + timedelta(days=BAD_DPD)
        if reached <= end and (paid is None or paid > reached):
            bad.add(loan_id)
    return bad
