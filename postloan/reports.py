"""Read-only figures for the classification report (五级分类报表, 迁徙率) and the manager's portfolio dashboard.

Everything here reads the batch's aggregates — ``LoanMonthEnd`` (one row per loan per month end) and
``DailySnapshot`` (one row per product/status/grade/tier cell per day) — plus a few indexed aggregates; never a scan
of installments. Each function runs a fixed number of queries whatever the size of the portfolio.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.utils.translation import gettext as _

from applications.models import Loan, Status
from loancenter.lib.money import ZERO, q2
from postloan.models import GRADE_LABELS, GRADES, TIERS, BatchRun, DailySnapshot, LoanMonthEnd

NPL_GRADES = ("substandard", "doubtful", "loss")  # 不良贷款: 次级 + 可疑 + 损失
SETTLED, WRITTEN_OFF, MISSING = "settled", "written_off", "missing"
RATIO = Decimal("0.0001")


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole to four decimals (0.1234 = 12.34 %); None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


def pct_text(value: Decimal | None) -> str:
    """0.1234 → "12.34%" for pages and exports; "—" when there is no ratio."""
    return "—" if value is None else f"{value * 100:.2f}%"


def month_end_of(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_month_end(month_end: date) -> date:
    return month_end.replace(day=1) - timedelta(days=1)


def parse_month(value: str | None) -> date | None:
    """'2025-04' → 2025-04-30; None for anything else."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return month_end_of(year, month)
    except (TypeError, ValueError):
        return None


def latest_month_end(on_or_before: date | None = None) -> date | None:
    rows = LoanMonthEnd.objects.all()
    if on_or_before is not None:
        rows = rows.filter(month_end__lte=on_or_before)
    return rows.aggregate(m=Max("month_end"))["m"]


# ---------------------------------------------------------------------------------------------------------------
# Classification report


@dataclass
class GradeLine:
    grade: str
    label: str
    loans: int = 0
    balance: Decimal = ZERO
    provision: Decimal = ZERO
    share: Decimal | None = None  # of the total balance

    @property
    def share_text(self) -> str:
        return pct_text(self.share)


@dataclass
class MatrixCell:
    column: str
    loans: int = 0
    balance: Decimal = ZERO  # the previous month-end balance of these loans
    loans_pct: Decimal | None = None  # of the row's loans
    balance_pct: Decimal | None = None  # of the row's balance

    @property
    def loans_pct_text(self) -> str:
        return pct_text(self.loans_pct)

    @property
    def balance_pct_text(self) -> str:
        return pct_text(self.balance_pct)


@dataclass
class MatrixRow:
    grade: str
    label: str
    cells: list[MatrixCell]
    loans: int = 0
    balance: Decimal = ZERO


@dataclass
class MigrationMatrix:
    month_end: date
    previous: date
    columns: list[tuple[str, str]]  # (code, label)
    rows: list[MatrixRow]


@dataclass
class ClassificationReport:
    month_end: date
    grades: list[GradeLine]
    total: GradeLine
    npl_balance: Decimal
    npl_ratio: Decimal | None
    written_off: GradeLine  # off the books: shown apart, outside the grades and the NPL ratio
    matrix: MigrationMatrix

    @property
    def npl_ratio_text(self) -> str:
        return pct_text(self.npl_ratio)


def _grade(value: str) -> str:
    # An active loan is graded by its first batch; one not yet graded has no arrears, hence 正常.
    return value or "normal"


def grade_table(month_end: date) -> tuple[list[GradeLine], GradeLine, GradeLine]:
    """Loans, balance and provision by grade of the active loans at ``month_end`` (one query)."""
    lines = {g: GradeLine(g, str(GRADE_LABELS[g])) for g in GRADES}
    written_off = GradeLine(WRITTEN_OFF, "")
    rows = (
        LoanMonthEnd.objects.filter(month_end=month_end, status__in=[Status.ACTIVE, Status.WRITTEN_OFF])
        .values("status", "grade").annotate(n=Count("id"), bal=Sum("balance"), prov=Sum("provision")).order_by()
    )
    for row in rows:
        line = written_off if row["status"] == Status.WRITTEN_OFF else lines[_grade(row["grade"])]
        line.loans += row["n"]
        line.balance += row["bal"] or ZERO
        line.provision += row["prov"] or ZERO
    total = GradeLine("total", "", sum(x.loans for x in lines.values()), sum((x.balance for x in lines.values()), ZERO),
                      sum((x.provision for x in lines.values()), ZERO))
    for line in lines.values():
        line.share = ratio(line.balance, total.balance)
    total.share = ratio(total.balance, total.balance)
    return list(lines.values()), total, written_off


def migration_matrix(month_end: date) -> MigrationMatrix:
    """Where each loan active at the previous month end stands at ``month_end`` (one query).

    Rows: the previous month-end grade; columns: this month-end grade, settled, written off (and, only if some
    loan has no row at this month end, "no month-end row"), so every row accounts for every loan in that grade.
    Balances are the previous month-end balances (the amount that migrated).
    """
    previous = previous_month_end(month_end)
    table = LoanMonthEnd._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT p.grade, c.status, c.grade, COUNT(*), SUM(p.balance)
              FROM {table} p LEFT JOIN {table} c ON c.loan_id = p.loan_id AND c.month_end = %s
             WHERE p.month_end = %s AND p.status = %s
             GROUP BY p.grade, c.status, c.grade
            """,
            [month_end, previous, Status.ACTIVE],
        )
        found = cur.fetchall()
    counts: dict[tuple[str, str], list] = {}
    for prev_grade, status, grade, n, bal in found:
        if status == Status.ACTIVE:
            column = _grade(grade)
        elif status in (SETTLED, WRITTEN_OFF):
            column = status
        else:
            column = MISSING
        cell = counts.setdefault((_grade(prev_grade), column), [0, ZERO])
        cell[0] += n
        cell[1] += q2(Decimal(str(bal or 0)))  # SQLite's SUM of a raw query is a float
    columns = [(g, str(GRADE_LABELS[g])) for g in GRADES] + [(SETTLED, str(_("Settled"))),
                                                              (WRITTEN_OFF, str(_("Written off")))]
    if any(column == MISSING for _g, column in counts):
        columns.append((MISSING, str(_("No month-end row"))))
    rows = []
    for g in GRADES:
        cells = [MatrixCell(code, *counts.get((g, code), [0, ZERO])) for code, _label in columns]
        row = MatrixRow(g, str(GRADE_LABELS[g]), cells, sum(c.loans for c in cells), sum((c.balance for c in cells), ZERO))
        for cell in cells:
            cell.loans_pct = ratio(cell.loans, row.loans)
            cell.balance_pct = ratio(cell.balance, row.balance)
        rows.append(row)
    return MigrationMatrix(month_end=month_end, previous=previous, columns=columns, rows=rows)


def classification_report(month_end: date) -> ClassificationReport:
    grades, total, written_off = grade_table(month_end)
    npl = sum((line.balance for line in grades if line.grade in NPL_GRADES), ZERO)
    return ClassificationReport(
        month_end=month_end, grades=grades, total=total, npl_balance=npl, npl_ratio=ratio(npl, total.balance),
        written_off=written_off, matrix=migration_matrix(month_end),
    )


# ---------------------------------------------------------------------------------------------------------------
# The manager's portfolio figures


@dataclass
class Portfolio:
    as_of: date | None
    disbursed: dict[str, dict]  # day / month / year → {"count", "amount"}
    outstanding_balance: Decimal
    active_loans: int
    borrowers: int
    decided: int
    approved: int
    rejected: int
    approval_rate: Decimal | None
    rejection_rate: Decimal | None
    overdue_balance: Decimal
    overdue_rate: Decimal | None
    npl_balance: Decimal
    npl_rate: Decimal | None
    provision_total: Decimal
    written_off_balance: Decimal
    by_grade: list[dict] = field(default_factory=list)  # {grade, label, loans, balance, provision}
    by_tier: list[dict] = field(default_factory=list)  # {tier, loans, balance}
    batch: BatchRun | None = None
    matrix: MigrationMatrix | None = None

    def __getattr__(self, name: str):
        # approval_rate_text, overdue_rate_text, … for the page
        if name.endswith("_text"):
            return pct_text(object.__getattribute__(self, name[:-5]))
        raise AttributeError(name)


def latest_snapshot_day() -> date | None:
    return DailySnapshot.objects.aggregate(m=Max("as_of"))["m"]


def portfolio(as_of: date | None = None) -> Portfolio:
    """Every figure of the dashboard for ``as_of`` (default: the latest snapshot), in a fixed number of queries.

    Balances, rates, grades and tiers come from that day's ``DailySnapshot``; disbursements for the day, the month
    and the year to date from ``Disbursement``; the approval and rejection rates over the loans decided in the year
    to date; borrowers are the distinct customers of the loans active now (the snapshot keeps no customers).
    """
    from disbursement.models import Disbursement

    as_of = as_of or latest_snapshot_day()
    day = as_of or date.today()
    month_start, year_start = day.replace(day=1), day.replace(month=1, day=1)

    periods = {"day": Q(disbursed_on=day), "month": Q(disbursed_on__gte=month_start), "year": Q()}
    agg = Disbursement.objects.filter(disbursed_on__gte=year_start, disbursed_on__lte=day).aggregate(
        **{f"{p}_n": Count("id", filter=q) for p, q in periods.items()},
        **{f"{p}_amount": Sum("amount", filter=q) for p, q in periods.items()},
    )
    disbursed = {p: {"count": agg[f"{p}_n"], "amount": agg[f"{p}_amount"] or ZERO} for p in periods}

    decisions = Loan.objects.filter(decided_at__date__gte=year_start, decided_at__date__lte=day).aggregate(
        decided=Count("id"), rejected=Count("id", filter=Q(status=Status.REJECTED)),
    )
    decided, rejected = decisions["decided"], decisions["rejected"]
    borrowers = Loan.objects.filter(status=Status.ACTIVE).values("customer_id").distinct().count()

    grades = {g: {"grade": g, "label": str(GRADE_LABELS[g]), "loans": 0, "balance": ZERO, "provision": ZERO} for g in GRADES}
    tiers = {t: {"tier": t, "loans": 0, "balance": ZERO} for t in ["", *TIERS]}
    balance = overdue = provision = written_off = ZERO
    loans = 0
    cells = DailySnapshot.objects.filter(as_of=as_of).values("status", "grade", "tier").annotate(
        n=Sum("loans"), bal=Sum("balance"), od=Sum("overdue_balance"), prov=Sum("provision"),
    ).order_by() if as_of else []
    for cell in cells:
        if cell["status"] == Status.WRITTEN_OFF:
            written_off += cell["bal"]
            continue
        if cell["status"] != Status.ACTIVE:
            continue
        loans += cell["n"]
        balance += cell["bal"]
        overdue += cell["od"]
        provision += cell["prov"]
        g = grades[_grade(cell["grade"])]
        g["loans"] += cell["n"]
        g["balance"] += cell["bal"]
        g["provision"] += cell["prov"]
        t = tiers.setdefault(cell["tier"], {"tier": cell["tier"], "loans": 0, "balance": ZERO})
        t["loans"] += cell["n"]
        t["balance"] += cell["bal"]
    npl = sum((grades[g]["balance"] for g in NPL_GRADES), ZERO)

    month_end = latest_month_end(as_of) if as_of else None
    return Portfolio(
        as_of=as_of, disbursed=disbursed, outstanding_balance=balance, active_loans=loans, borrowers=borrowers,
        decided=decided, approved=decided - rejected, rejected=rejected,
        approval_rate=ratio(decided - rejected, decided), rejection_rate=ratio(rejected, decided),
        overdue_balance=overdue, overdue_rate=ratio(overdue, balance),
        npl_balance=npl, npl_rate=ratio(npl, balance), provision_total=provision, written_off_balance=written_off,
        by_grade=list(grades.values()), by_tier=list(tiers.values()),
        batch=BatchRun.objects.order_by("-as_of").first(),
        matrix=migration_matrix(month_end) if month_end else None,
    )
