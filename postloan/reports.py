"""Read-only figures for the classification report (五级分类报表, 迁徙率) and the manager's portfolio dashboard.

Everything here reads the batch's aggregates — ``LoanMonthEnd`` (one row per loan per month end) and
``DailySnapshot`` (one row per product/status/grade/tier cell per day) — plus a few indexed aggregates; never a scan
of installments. Each function runs a fixed number of queries whatever the size of the portfolio.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import BEFORE_ACTIVE, Industry, Loan, Status
from loancenter.lib.money import ZERO, fmt_rate, q2
from loancenter.lib.regions import provinces
from loancenter.models import Unit
from postloan.book import MOST_OVERDUE_FIRST, book_date, dpd_at_least, dpd_at_most
from postloan.models import GRADE_LABELS, GRADES, TIERS, BatchRun, DailySnapshot, LoanMonthEnd

NPL_GRADES = ("substandard", "doubtful", "loss")  # 不良贷款: 次级 + 可疑 + 损失
SETTLED, WRITTEN_OFF, MISSING = "settled", "written_off", "missing"
RATIO = Decimal("0.0001")
PERIOD_DAYS = 30  # the default period of the period figures: the 30 days ending on as_of


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole to four decimals (0.1234 = 12.34 %); None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO, rounding=ROUND_HALF_UP)


def pct_text(value: Decimal | None) -> str:
    """0.1234 → "12.34%" for pages and exports; "—" when there is no ratio."""
    return "—" if value is None else fmt_rate(value)


def month_end_of(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def previous_month_end(month_end: date) -> date:
    return month_end.replace(day=1) - timedelta(days=1)


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
    restructured_loans: int = 0  # of which restructured (extension, negotiated plan)
    restructured_balance: Decimal = ZERO

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
    direction: str = "stay"  # stay / worse / better / exit: the heat map's colour (issue 15 part 3)

    @property
    def heat(self) -> int:
        """The heat map's shade, 0 (none) to 5, from the share of the row's loans: 0 only for an empty cell."""
        if not self.loans or self.loans_pct is None:
            return 0
        return min(5, 1 + int(self.loans_pct * 5))

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


def _month_end_rows(f: dict | None):
    """The month-end rows of the loans the dimension filters ``f`` select (all without filters)."""
    rows = LoanMonthEnd.objects.all()
    dimensions = dimension_filter(f or {}, "loan__")
    return rows if dimensions is None else rows.filter(dimensions)


def grade_table(month_end: date, f: dict | None = None) -> tuple[list[GradeLine], GradeLine, GradeLine]:
    """Loans, balance and provision by grade of the active loans at ``month_end`` (one query); ``f``: the
    dimension filters (unit, region, industry, product, officer: ``dimension_filter``)."""
    lines = {g: GradeLine(g, str(GRADE_LABELS[g])) for g in GRADES}
    written_off = GradeLine(WRITTEN_OFF, "")
    rows = (
        _month_end_rows(f).filter(month_end=month_end, status__in=[Status.ACTIVE, Status.WRITTEN_OFF])
        .values("status", "grade", "restructured").annotate(n=Count("id"), bal=Sum("balance"), prov=Sum("provision"))
        .order_by()
    )
    for row in rows:
        line = written_off if row["status"] == Status.WRITTEN_OFF else lines[_grade(row["grade"])]
        line.loans += row["n"]
        line.balance += row["bal"] or ZERO
        line.provision += row["prov"] or ZERO
        if row["restructured"]:
            line.restructured_loans += row["n"]
            line.restructured_balance += row["bal"] or ZERO
    total = GradeLine("total", "", sum(x.loans for x in lines.values()), sum((x.balance for x in lines.values()), ZERO),
                      sum((x.provision for x in lines.values()), ZERO),
                      restructured_loans=sum(x.restructured_loans for x in lines.values()),
                      restructured_balance=sum((x.restructured_balance for x in lines.values()), ZERO))
    for line in lines.values():
        line.share = ratio(line.balance, total.balance)
    total.share = ratio(total.balance, total.balance)
    return list(lines.values()), total, written_off


def _direction(from_grade: str, column: str) -> str:
    """Where a loan of ``from_grade`` went, for the heat map: the same grade, a worse one, a better one, or off the
    book (settled, written off, no row)."""
    if column not in GRADES:
        return "exit"
    step = GRADES.index(column) - GRADES.index(from_grade)
    return "stay" if step == 0 else ("worse" if step > 0 else "better")


def migration_matrix(month_end: date, f: dict | None = None) -> MigrationMatrix:
    """Where each loan active at the previous month end stands at ``month_end`` (one query).

    Rows: the previous month-end grade; columns: this month-end grade, settled, written off (and, only if some
    loan has no row at this month end, "no month-end row"), so every row accounts for every loan in that grade.
    Balances are the previous month-end balances (the amount that migrated).
    """
    previous = previous_month_end(month_end)
    table = LoanMonthEnd._meta.db_table
    dimensions = dimension_filter(f or {})
    among, among_params = "", []
    if dimensions is not None:  # the loans the filters select, as a subquery compiled by the ORM
        sql, among_params = Loan.objects.filter(dimensions).values("pk").query.sql_with_params()
        among = f" AND p.loan_id IN ({sql})"
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT p.grade, c.status, c.grade, COUNT(*), SUM(p.balance)
              FROM {table} p LEFT JOIN {table} c ON c.loan_id = p.loan_id AND c.month_end = %s
             WHERE p.month_end = %s AND p.status = %s{among}
             GROUP BY p.grade, c.status, c.grade
            """,
            [month_end, previous, Status.ACTIVE, *among_params],
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
            cell.direction = _direction(g, cell.column)
        rows.append(row)
    return MigrationMatrix(month_end=month_end, previous=previous, columns=columns, rows=rows)


def classification_report(month_end: date, f: dict | None = None) -> ClassificationReport:
    """The report of ``month_end``, of the loans the dimension filters ``f`` select (SPEC §13)."""
    grades, total, written_off = grade_table(month_end, f)
    npl = sum((line.balance for line in grades if line.grade in NPL_GRADES), ZERO)
    return ClassificationReport(
        month_end=month_end, grades=grades, total=total, npl_balance=npl, npl_ratio=ratio(npl, total.balance),
        written_off=written_off, matrix=migration_matrix(month_end, f),
    )


def restructured_figures(on: date | None = None) -> dict:
    """Active restructured loans (extended or on a negotiated plan, SPEC §6, §12): how many, their balance, and how many
    are still in their observation period — one query over the loans' restructured index."""
    on = on or timezone.localdate()
    return Loan.objects.filter(status=Status.ACTIVE, restructured_on__isnull=False).aggregate(
        loans=Count("id"), balance=Coalesce(Sum("outstanding_principal"), ZERO),
        observed=Count("id", filter=Q(observation_until__gte=on)),
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
    # The period figures cover [period_start, as_of].
    period_start: date | None = None
    period_days: int = 0
    pipeline: list[dict] = field(default_factory=list)  # {status, label, loans, oldest_since, oldest_hours}
    turnaround: list[dict] = field(default_factory=list)  # {stage, label, median_hours, transitions}
    interest_due: Decimal = ZERO
    interest_received: Decimal = ZERO
    interest_collection_rate: Decimal | None = None
    t3_balance: Decimal = ZERO
    recoveries: Decimal = ZERO
    recovery_repayments: Decimal = ZERO
    recovery_rate: Decimal | None = None
    bad_debt_rate: Decimal | None = None
    trend: list[dict] = field(default_factory=list)  # {as_of, balance, overdue_rate, npl_rate}

    def __getattr__(self, name: str):
        # approval_rate_text, overdue_rate_text, … for the page
        if name.endswith("_text"):
            return pct_text(object.__getattribute__(self, name[:-5]))
        raise AttributeError(name)


def latest_snapshot_day() -> date | None:
    return DailySnapshot.objects.aggregate(m=Max("as_of"))["m"]


def portfolio(as_of: date | None = None, period_days: int = PERIOD_DAYS) -> Portfolio:
    """Every figure of the dashboard for ``as_of`` (default: the latest snapshot), in a fixed number of queries.

    Balances, rates, grades and tiers come from that day's ``DailySnapshot``; disbursements for the day, the month
    and the year to date from ``Disbursement``; the approval and rejection rates over the loans decided in the year
    to date; borrowers are the distinct customers of the loans active now (the snapshot keeps no customers).
    The period figures (stage turnaround, 收息率, 回收率) cover the ``period_days`` days ending on ``as_of``.
    """
    as_of = as_of or latest_snapshot_day()
    day = as_of or date.today()
    month_start, year_start = day.replace(day=1), day.replace(month=1, day=1)

    # Through the loan's one disbursement (rule 16): postloan reads disbursement's rows by the relation, never by
    # importing the app above it.
    periods = {"day": Q(disbursement__disbursed_on=day), "month": Q(disbursement__disbursed_on__gte=month_start),
               "year": Q()}
    agg = Loan.objects.filter(disbursement__disbursed_on__gte=year_start, disbursement__disbursed_on__lte=day).aggregate(
        **{f"{p}_n": Count("disbursement", filter=q) for p, q in periods.items()},
        **{f"{p}_amount": Sum("disbursement__amount", filter=q) for p, q in periods.items()},
    )
    disbursed = {p: {"count": agg[f"{p}_n"], "amount": agg[f"{p}_amount"] or ZERO} for p in periods}

    year_from = timezone.make_aware(datetime.combine(year_start, time.min))
    day_to = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    decisions = Loan.objects.filter(decided_at__gte=year_from, decided_at__lt=day_to).aggregate(
        decided=Count("id"), rejected=Count("id", filter=Q(status=Status.REJECTED)),
    )
    decided, rejected = decisions["decided"], decisions["rejected"]
    # The night's run keeps the figures that would otherwise need every loan / installment on each page view.
    run = BatchRun.objects.filter(as_of=as_of, status=BatchRun.DONE).first() if as_of else None
    if run is not None and run.borrowers is not None:
        borrowers = run.borrowers
    else:
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
    period_days = max(1, min(int(period_days), 366))
    period_start = day - timedelta(days=period_days - 1)
    t3 = tiers.get("T3", {}).get("balance", ZERO)
    if run is not None and period_days == PERIOD_DAYS and run.period_interest_due is not None:
        interest = {"interest_due": run.period_interest_due, "interest_received": run.period_interest_received,
                    "interest_collection_rate": ratio(run.period_interest_received, run.period_interest_due)}
    else:
        interest = interest_collection(period_start, day)
    recovered = recovery(period_start, day)
    return Portfolio(
        as_of=as_of, disbursed=disbursed, outstanding_balance=balance, active_loans=loans, borrowers=borrowers,
        decided=decided, approved=decided - rejected, rejected=rejected,
        approval_rate=ratio(decided - rejected, decided), rejection_rate=ratio(rejected, decided),
        overdue_balance=overdue, overdue_rate=ratio(overdue, balance),
        npl_balance=npl, npl_rate=ratio(npl, balance), provision_total=provision, written_off_balance=written_off,
        by_grade=list(grades.values()), by_tier=list(tiers.values()),
        batch=BatchRun.objects.order_by("-as_of").first(),
        matrix=migration_matrix(month_end) if month_end else None,
        period_start=period_start, period_days=period_days,
        pipeline=pipeline_queues(), turnaround=stage_turnaround(period_start, day),
        **interest, t3_balance=t3, **recovered,
        recovery_rate=ratio(recovered["recoveries"] + recovered["recovery_repayments"], written_off + t3),
        bad_debt_rate=ratio(written_off, balance + written_off),
        trend=trend(as_of),
    )


# ---------------------------------------------------------------------------------------------------------------
# Issue 6, second part: the approval pipeline, collection and recovery figures, trends. Each a fixed number of
# queries; formulas in docs/decisions.md ("Dashboard figures").

PIPELINE = [s for s in BEFORE_ACTIVE if s != Status.DRAFT]  # the queues a manager watches (drafts are nobody's queue)
TREND_DAYS = 90


def transition_names() -> list[str]:
    from applications.workflow import STEPS

    return sorted(STEPS)


def _day_bounds(start: date, end: date):
    """Aware datetimes [start 00:00, end+1 00:00) in the center's time zone."""
    from datetime import datetime, time

    from django.utils import timezone

    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz), datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def pipeline_queues(now=None) -> list[dict]:
    """Loans per waiting state with the oldest one's wait (one grouped query on the ``loan_queue`` index)."""
    from django.db.models import Min
    from django.utils import timezone

    now = now or timezone.now()
    found = {r["status"]: r for r in Loan.objects.filter(status__in=PIPELINE).values("status")
             .annotate(n=Count("id"), oldest=Min("status_changed_at")).order_by()}
    queues = []
    for status in PIPELINE:
        row = found.get(status)
        oldest = row["oldest"] if row else None
        hours = (now - oldest).total_seconds() / 3600 if oldest else None
        queues.append({"status": str(status), "label": str(Status(status).label), "loans": row["n"] if row else 0,
                       "oldest_since": oldest, "oldest_hours": round(hours, 1) if hours is not None else None})
    return queues


def stage_turnaround(start: date, end: date) -> list[dict]:
    """Median hours spent in each state, over the transitions out of it made in [start, end] (one query).

    The time in a state is the gap between a loan's transition out of it and that loan's previous transition (the
    one into it), both read from the audit trail; the median is taken in SQL (the middle row or the mean of the two
    middle rows), so no row leaves the database.
    """
    names = transition_names()
    lo, hi = _day_bounds(start, end)
    from loancenter.models import AuditEntry

    table = AuditEntry._meta.db_table
    if connection.vendor == "postgresql":
        hours = "EXTRACT(EPOCH FROM (e.at - e.prev_at)) / 3600.0"
    else:
        hours = "(julianday(e.at) - julianday(e.prev_at)) * 24.0"
    marks = ", ".join(["%s"] * len(names))
    sql = f"""
        WITH e AS (
          SELECT x.from_status AS stage, x.at,
                 (SELECT MAX(p.at) FROM {table} p
                   WHERE p.loan_id = x.loan_id AND p.action IN ({marks}) AND p.at < x.at) AS prev_at
            FROM {table} x
           WHERE x.at >= %s AND x.at < %s AND x.loan_id IS NOT NULL AND x.action IN ({marks})
        ), d AS (
          SELECT e.stage, {hours} AS hours FROM e WHERE e.prev_at IS NOT NULL
        ), r AS (
          SELECT stage, hours, ROW_NUMBER() OVER (PARTITION BY stage ORDER BY hours) AS rn,
                 COUNT(*) OVER (PARTITION BY stage) AS n FROM d
        )
        SELECT stage, AVG(hours), MAX(n) FROM r WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY stage
    """
    with connection.cursor() as cur:
        cur.execute(sql, [*names, lo, hi, *names])
        found = {stage: (float(median), n) for stage, median, n in cur.fetchall()}
    order = [str(s) for s in Status]
    return [{"stage": stage, "label": str(Status(stage).label), "median_hours": round(found[stage][0], 1),
             "transitions": found[stage][1]}
            for stage in sorted(found, key=lambda s: order.index(s) if s in order else len(order))]


def interest_collection(start: date, end: date) -> dict:
    """收息率: interest paid on the installments due in [start, end] / the interest due on them (one aggregate)."""
    from postloan.models import Installment

    agg = Installment.objects.filter(due_date__gte=start, due_date__lte=end).aggregate(
        due=Sum("interest"), paid=Sum("paid_interest"))
    due, paid = agg["due"] or ZERO, agg["paid"] or ZERO
    return {"interest_due": due, "interest_received": paid, "interest_collection_rate": ratio(paid, due)}


def recovery(start: date, end: date) -> dict:
    """回收率 numerator: recoveries on written-off loans plus repayments on written-off and T3 loans in [start, end]."""
    from postloan.models import Repayment, WriteOffRecovery

    recovered = WriteOffRecovery.objects.filter(recovered_on__gte=start, recovered_on__lte=end).aggregate(
        s=Sum("amount"))["s"] or ZERO
    repaid = Repayment.objects.filter(paid_on__gte=start, paid_on__lte=end).filter(
        Q(loan__status=Status.WRITTEN_OFF) | Q(loan__status=Status.ACTIVE, loan__collection_tier="T3"),
    ).aggregate(s=Sum("amount"))["s"] or ZERO
    return {"recoveries": recovered, "recovery_repayments": repaid}


def trend(as_of: date | None, days: int = TREND_DAYS) -> list[dict]:
    """Balance, overdue rate and NPL rate of the active book on each snapshot day of the last ``days`` (one query)."""
    if as_of is None:
        return []
    rows = (DailySnapshot.objects.filter(as_of__gt=as_of - timedelta(days=days), as_of__lte=as_of,
                                         status=Status.ACTIVE)
            .values("as_of").annotate(bal=Sum("balance"), od=Sum("overdue_balance"),
                                      npl=Sum("balance", filter=Q(grade__in=NPL_GRADES)))
            .order_by("as_of"))
    return [{"as_of": r["as_of"], "balance": r["bal"] or ZERO, "overdue_rate": ratio(r["od"] or 0, r["bal"] or 0),
             "npl_rate": ratio(r["npl"] or 0, r["bal"] or 0)} for r in rows]


def _chart_value(value: Decimal | None, pct: bool) -> float | None:
    """A point of a chart: a percentage for a ratio (0.0435 → 4.35), yuan for an amount; None is a gap."""
    if value is None:
        return None
    return float((value * 100).quantize(Decimal("0.01"))) if pct else float(q2(value))


def trend_charts(rows: list[dict], levels: dict | None = None) -> list[dict]:
    """The dashboard's trend charts (issue 15 part 3), drawn by Chart.js from our static files.

    Each chart: ``code``, ``label``, the ``rows`` as (day, value text) for the table readable without JavaScript,
    ``end`` (the latest value as text) and ``data``, passed to the page with ``json_script``: the day labels, the
    series and, where the manager set a warning level on the figure (``levels``: figure → WarningLevel), that level
    as a flat line. Ratios are drawn as percentages, amounts in yuan; the texts use the pages' one rule.
    """
    from loancenter.templatetags.money import money

    levels = levels or {}
    days = [r["as_of"].isoformat() for r in rows]
    charts = []
    for code, label, pct in (("balance", _("Outstanding balance"), False), ("overdue_rate", _("Overdue rate"), True),
                             ("npl_rate", _("Non-performing rate"), True)):
        values = [r[code] for r in rows]
        text = [pct_text(v) if pct else (money(v) or "—") for v in values]
        data = {"labels": days, "label": str(label), "pct": pct,
                "values": [_chart_value(v, pct) for v in values], "warning": None}
        level = levels.get(code)
        if level is not None and pct:
            data["warning"] = {"value": _chart_value(level.threshold, True),
                               "label": str(_("Warning level %(level)s") % {"level": pct_text(level.threshold)})}
        last = next((t for v, t in zip(reversed(values), reversed(text), strict=True) if v is not None), "")
        charts.append({"code": code, "label": str(label), "data": data, "end": last,
                       "element_id": f"chart-data-{code}", "rows": list(zip(days, text, strict=True)),
                       "first": rows[0]["as_of"] if rows else None, "last": rows[-1]["as_of"] if rows else None})
    return charts


def today_activity(day: date | None = None) -> dict:
    """Today's business counted live from the rows (issue 15 part 3): the nightly snapshot knows only yesterday.

    Disbursements and repayments by their dates, applications by the moment they were submitted (the center's day,
    SPEC §16.1). Three indexed aggregates.
    """
    from postloan.models import Repayment

    day = day or timezone.localdate()
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = start + timedelta(days=1)
    disbursed = Loan.objects.filter(disbursement__disbursed_on=day).aggregate(
        n=Count("disbursement"), amount=Sum("disbursement__amount"))
    applications = Loan.objects.filter(submitted_at__gte=start, submitted_at__lt=end).aggregate(
        n=Count("id"), amount=Sum("amount"))
    repaid = Repayment.objects.filter(paid_on=day).aggregate(n=Count("id"), amount=Sum("amount"))
    return {
        "day": day,
        "disbursed": {"count": disbursed["n"], "amount": disbursed["amount"] or ZERO},
        "applications": {"count": applications["n"], "amount": applications["amount"] or ZERO},
        "repayments": {"count": repaid["n"], "amount": repaid["amount"] or ZERO},
    }


# ---------------------------------------------------------------------------------------------------------------
# The organisation's dimensions (SPEC §13): unit, the customer's province and industry, with "none" for unrecorded.

NONE = "none"


def unit_choices() -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in Unit.objects.order_by("-is_center", "code")]


def region_choices() -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in provinces()] + [(NONE, str(_("Not recorded")))]


def industry_choices() -> list[tuple[str, str]]:
    return [(i.code, f"{i.code} {i.name}") for i in Industry.objects.order_by("code")] + [(NONE, str(_("Not recorded")))]


def dimension_filter(f: dict, prefix: str = "") -> Q | None:
    """The unit, region (by province) and industry filters of ``f`` on loans (``prefix``: the path to the loan from
    the rows filtered, e.g. ``"loan__"``); None when none is set."""
    q = Q()
    if f.get("unit"):
        q &= Q(**{f"{prefix}unit_id__in": f["unit"]})
    if f.get("region"):
        either = Q(pk__in=[])
        for code in f["region"]:
            either |= (Q(**{f"{prefix}customer__region": ""}) if code == NONE
                       else Q(**{f"{prefix}customer__region__startswith": code[:2]}))
        q &= either
    if f.get("industry"):
        codes = [c for c in f["industry"] if c != NONE]
        either = Q(**{f"{prefix}customer__industry_id__in": codes})
        if NONE in f["industry"]:
            either |= Q(**{f"{prefix}customer__industry__isnull": True})
        q &= either
    if f.get("product_code"):
        q &= Q(**{f"{prefix}product__code__in": f["product_code"]})
    if f.get("officer_id"):
        q &= Q(**{f"{prefix}marketing_officer_id__in": f["officer_id"]})
    return q or None


@dataclass
class CutFigures:
    """The book of a cut (SPEC §13: a unit, product, region, industry or officer), counted live from the loans."""

    by_grade: list[GradeLine]
    total: GradeLine
    npl_balance: Decimal
    npl_ratio: Decimal | None
    by_tier: list[dict]


def cut_figures(where: Q) -> CutFigures:
    """Active loans of the cut by grade and by collection tier (two grouped queries over the loans selected)."""
    active = Loan.objects.filter(where).filter(status=Status.ACTIVE)
    lines = {g: GradeLine(g, str(GRADE_LABELS[g])) for g in GRADES}
    for row in active.values("grade").annotate(n=Count("id"), bal=Sum("outstanding_principal"),
                                               prov=Sum("provision")).order_by():
        line = lines[_grade(row["grade"])]
        line.loans += row["n"]
        line.balance += row["bal"] or ZERO
        line.provision += row["prov"] or ZERO
    total = GradeLine("total", "", sum(x.loans for x in lines.values()), sum((x.balance for x in lines.values()), ZERO),
                      sum((x.provision for x in lines.values()), ZERO))
    for line in lines.values():
        line.share = ratio(line.balance, total.balance)
    npl = sum((line.balance for line in lines.values() if line.grade in NPL_GRADES), ZERO)
    tiers = {row["collection_tier"]: row for row in active.values("collection_tier").annotate(
        n=Count("id"), bal=Sum("outstanding_principal")).order_by()}
    by_tier = [{"tier": t, "loans": tiers.get(t, {}).get("n", 0), "balance": tiers.get(t, {}).get("bal") or ZERO}
               for t in ("", *TIERS)]
    return CutFigures(list(lines.values()), total, npl, ratio(npl, total.balance), by_tier)


# ---------------------------------------------------------------------------------------------------------------
# The loans behind a figure (drill-down)

DRILL_ORDERS = {"id": ("id",), "waiting": ("status_changed_at", "id"), "-dpd": (MOST_OVERDUE_FIRST, "id"),
                "-balance": ("-outstanding_principal", "id")}


def drilldown_loans(f: dict, base=None):
    """The loans matching the drill-down filters ``f`` (cleaned data of the filter form), with what the list shows;
    ``base``: the reader's scope (``applications.selectors.loans_visible_to``), every loan without it."""
    from django.db.models import Exists, OuterRef

    from postloan.models import Installment

    qs = Loan.objects.all() if base is None else base
    if f.get("status"):
        qs = qs.filter(status__in=f["status"])
    if f.get("product"):
        qs = qs.filter(product__in=f["product"])
    if f.get("officer"):
        qs = qs.filter(marketing_officer__in=f["officer"])
    dimensions = dimension_filter(f)
    if dimensions is not None:
        qs = qs.filter(dimensions)
    if f.get("tier"):
        tiers = ["" if t == "current" else t for t in f["tier"]]
        qs = qs.filter(collection_tier__in=tiers)
    if f.get("grade"):
        qs = qs.filter(grade__in=f["grade"])
    if f.get("dpd_min") is not None:
        qs = qs.filter(dpd_at_least(f["dpd_min"], book_date()))
    if f.get("dpd_max") is not None:
        qs = qs.filter(dpd_at_most(f["dpd_max"], book_date()))
    if f.get("decided_from") or f.get("decided_to"):
        lo, hi = _day_bounds(f.get("decided_from") or date(1900, 1, 1), f.get("decided_to") or date(2999, 12, 31))
        qs = qs.filter(decided_at__gte=lo, decided_at__lt=hi)
    if f.get("disbursed_from"):
        qs = qs.filter(disbursement__disbursed_on__gte=f["disbursed_from"])
    if f.get("disbursed_to"):
        qs = qs.filter(disbursement__disbursed_on__lte=f["disbursed_to"])
    if f.get("due_from") and f.get("due_to"):
        qs = qs.filter(Exists(Installment.objects.filter(loan=OuterRef("pk"), due_date__gte=f["due_from"],
                                                         due_date__lte=f["due_to"])))
    if f.get("recovery"):  # the loans of the recovery rate: written off, or active in collection tier T3
        qs = qs.filter(Q(status=Status.WRITTEN_OFF) | Q(status=Status.ACTIVE, collection_tier="T3"))
    order = DRILL_ORDERS.get(f.get("order") or "id", DRILL_ORDERS["id"])
    return qs.select_related("customer__industry", "product", "marketing_officer", "unit").order_by(*order)
