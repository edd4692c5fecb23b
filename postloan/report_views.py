"""The classification report (五级分类, 迁徙率) as page, CSV and PDF; the manager's "run the batch now" button.

Thin views: the post check, the selectors of ``postloan.reports``, render. The PDF and CSV accept the session or an
API token like every other PDF address (SPEC §8).
"""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.lib.pdf import render_pdf
from loancenter.pdf_views import _user
from loancenter.rules import require_post
from postloan import reports
from postloan.batch_services import batch_start

REPORT_POSTS = (P.MANAGER, P.GENERAL, P.ARCHIVIST)


def _require(user, *posts: str) -> None:
    if user.is_superuser:
        return
    try:
        require_post(user, *posts)
    except DomainError as error:
        raise PermissionDenied(error.message) from None


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def _csv(report: reports.ClassificationReport) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="classification-{report.month_end:%Y-%m}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 Chinese only with the BOM
    out = csv.writer(response)
    out.writerow([_("Classification report"), report.month_end.isoformat()])
    out.writerow([_("Grade"), _("Loans"), _("Balance"), _("Provision"), _("Share of balance")])
    for line in [*report.grades, report.total]:
        out.writerow([line.label or _("Total"), line.loans, f"{line.balance:.2f}", f"{line.provision:.2f}", _pct(line.share)])
    out.writerow([_("Non-performing balance"), "", f"{report.npl_balance:.2f}", "", _pct(report.npl_ratio)])
    out.writerow([_("Written off (off the books)"), report.written_off.loans, f"{report.written_off.balance:.2f}", "", ""])
    out.writerow([])
    matrix = report.matrix
    out.writerow([_("Grade migration from %(prev)s to %(cur)s") % {"prev": matrix.previous.isoformat(),
                                                                  "cur": matrix.month_end.isoformat()}])
    header = [_("Previous grade")]
    for _code, label in matrix.columns:
        header += [f"{label} {_('loans')}", f"{label} {_('balance')}", f"{label} %"]
    out.writerow([*header, _("Loans"), _("Balance")])
    for row in matrix.rows:
        line = [row.label]
        for cell in row.cells:
            line += [cell.loans, f"{cell.balance:.2f}", _pct(cell.loans_pct)]
        out.writerow([*line, row.loans, f"{row.balance:.2f}"])
    return response


def classification(request):
    """``/reports/classification/?month=YYYY-MM[&format=csv|pdf]`` for the manager, general post and archivist."""
    user = _user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401)
        return redirect_to_login(request.get_full_path())
    _require(user, *REPORT_POSTS)
    month_end = reports.parse_month(request.GET.get("month")) or reports.latest_month_end() \
        or reports.previous_month_end(today())
    report = reports.classification_report(month_end)
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        return _csv(report)
    context = {"report": report, "matrix": report.matrix, "month": f"{month_end:%Y-%m}",
               "previous_month": f"{report.matrix.previous:%Y-%m}", "printed_on": today()}
    if fmt == "pdf":
        response = HttpResponse(render_pdf("pdf/classification_report.html", context), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="classification-{month_end:%Y-%m}.pdf"'
        return response
    return render(request, "reports/classification.html", context)


classification.login_exempt = True  # authenticated above: session or token


def batch_run_now(request):
    """The manager starts last night's batch (yesterday's date) from the dashboard."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    _require(request.user, P.MANAGER)
    try:
        run = batch_start(as_of=today() - timedelta(days=1))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The nightly batch for %(day)s was started.") % {"day": run.as_of.isoformat()})
    return redirect("dashboard")
