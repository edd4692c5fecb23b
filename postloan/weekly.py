"""A unit's weekly report (issue 16 part 3): generated for every unit by Celery beat each Monday for the week before,
and on demand; stored as PDF and Excel (``WeeklyReport``), one per unit and week.

Figures of the week (Monday–Sunday, the center's local dates): applications entered, decisions and their pass and
refusal rates, loans and amount disbursed; of the unit's book at generation: overdue and NPL rates; of the latest
month end: the roll rates (the share of each grade's balance that moved to a worse grade or was written off).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from applications.models import Loan, Status
from loancenter.lib import export
from loancenter.lib.dates import today
from loancenter.lib.money import ZERO, q2
from loancenter.lib.pdf import render_pdf
from loancenter.models import Unit
from postloan import reports
from postloan.book import book_date, dpd_at_least
from postloan.models import GRADE_LABELS, GRADES, WeeklyReport

WORSE = {g: set(GRADES[i + 1:]) | {reports.WRITTEN_OFF} for i, g in enumerate(GRADES)}


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def _bounds(week_start: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(week_start, time.min))
    return start, start + timedelta(days=7)


def _pct(value) -> str | None:
    return None if value is None else f"{value * 100:.2f}%"


def figures(unit: Unit, week_start: date) -> dict:
    loans = Loan.objects.filter(unit=unit)
    lo, hi = _bounds(week_start)
    decided = loans.filter(decided_at__gte=lo, decided_at__lt=hi).aggregate(
        n=Count("id"), rejected=Count("id", filter=Q(status=Status.REJECTED)))
    disbursed = loans.filter(disbursement__disbursed_on__gte=week_start,
                             disbursement__disbursed_on__lt=week_start + timedelta(days=7)).aggregate(
        n=Count("id"), amount=Sum("approved_amount"))
    active = loans.filter(status=Status.ACTIVE)
    book = active.aggregate(balance=Sum("outstanding_principal"),
                            overdue=Sum("outstanding_principal", filter=dpd_at_least(1, book_date())),
                            npl=Sum("outstanding_principal", filter=Q(grade__in=reports.NPL_GRADES)))
    balance = book["balance"] or ZERO
    approved = decided["n"] - decided["rejected"]
    month_end = reports.latest_month_end()
    rolls = []
    if month_end is not None:
        matrix = reports.migration_matrix(month_end, {"unit": [unit.pk]})
        for row in matrix.rows:
            worse = sum((cell.balance for cell in row.cells if cell.code in WORSE[row.grade]), ZERO)
            rolls.append({"grade": row.grade, "label": str(GRADE_LABELS[row.grade]), "balance": str(q2(row.balance)),
                          "roll_rate": _pct(reports.ratio(worse, row.balance))})
    return {
        "unit": unit.pk, "unit_name": unit.name, "week_start": week_start.isoformat(),
        "week_end": (week_start + timedelta(days=6)).isoformat(),
        "applications": loans.filter(created_at__gte=lo, created_at__lt=hi).count(),
        "decided": decided["n"], "approved": approved, "rejected": decided["rejected"],
        "pass_rate": _pct(reports.ratio(approved, decided["n"])),
        "refusal_rate": _pct(reports.ratio(decided["rejected"], decided["n"])),
        "disbursed_loans": disbursed["n"], "disbursed_amount": str(q2(disbursed["amount"] or ZERO)),
        "active_loans": active.count(), "balance": str(q2(balance)),
        "overdue_rate": _pct(reports.ratio(book["overdue"] or ZERO, balance)),
        "npl_rate": _pct(reports.ratio(book["npl"] or ZERO, balance)),
        "month_end": month_end.isoformat() if month_end else None, "roll_rates": rolls,
    }


AMOUNTS = ("disbursed_amount", "balance")


def _rows(f: dict, *, text: bool = False) -> list[list]:
    """The report as rows: amounts as numbers for Excel (shown with separators by its number format), or, with
    ``text``, as the pages print them ("1,234.00") for the PDF (issue 15 part 5)."""
    from loancenter.templatetags.money import money

    def amount(value):
        if value is None:
            return "—"
        return money(value) if text else Decimal(value)

    rows = [[_("Weekly report"), f["unit_name"], f"{f['week_start']} – {f['week_end']}"], [_("Figure"), _("Value")]]
    for key, label in (("applications", _("Applications")), ("decided", _("Decided")), ("approved", _("Approved")),
                       ("rejected", _("Rejected")), ("pass_rate", _("Pass rate")), ("refusal_rate", _("Refusal rate")),
                       ("disbursed_loans", _("Loans disbursed")), ("disbursed_amount", _("Amount disbursed")),
                       ("active_loans", _("Active loans")), ("balance", _("Outstanding principal")),
                       ("overdue_rate", _("Overdue rate")), ("npl_rate", _("NPL rate"))):
        value = amount(f[key]) if key in AMOUNTS else f[key]
        rows.append([str(label), value if value is not None else "—"])
    rows.append([str(_("Roll rates at %(day)s") % {"day": f["month_end"] or "—"}), ""])
    rows += [[r["label"], r["roll_rate"] or "—"] for r in f["roll_rates"]]
    return rows


@transaction.atomic
def weekly_report_generate(*, unit: Unit, week_start: date) -> WeeklyReport:
    """Compute and store (or replace) ``unit``'s report of the week starting ``week_start`` (a Monday)."""
    week_start = week_of(week_start)
    f = figures(unit, week_start)
    pdf = render_pdf("pdf/weekly_report.html", {"f": f, "rows": _rows(f, text=True)[1:], "printed_on": today()})
    xlsx = export.xlsx_bytes(str(_("Weekly report")), _rows(f))
    report, _created = WeeklyReport.objects.update_or_create(
        unit=unit, week_start=week_start,
        defaults={"generated_at": timezone.now(), "figures": f, "pdf": pdf, "xlsx": xlsx})
    return report


def weekly_reports_generate(*, week_start: date | None = None) -> list[WeeklyReport]:
    """Every unit's report of the week before the current one (what beat runs on Monday), or of ``week_start``."""
    week_start = week_of(week_start) if week_start else week_of(today()) - timedelta(days=7)
    return [weekly_report_generate(unit=unit, week_start=week_start) for unit in Unit.objects.order_by("code")]
