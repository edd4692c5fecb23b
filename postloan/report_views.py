"""The classification report (五级分类, 迁徙率) as page, CSV and PDF; the manager's "run the batch now" button.

Thin views: the post check, the selectors of ``postloan.reports``, render. The PDF and CSV accept the session or an
API token like every other PDF address (SPEC §8).
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseNotAllowed, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.models import Product, Status
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.lib.pdf import render_pdf
from loancenter.models import User
from loancenter.pdf_views import _user
from loancenter.rules import require_post
from postloan import reports, warnings
from postloan.batch_services import batch_start
from postloan.models import GRADE_CHOICES, TIERS, WarningLevel

REPORT_POSTS = (P.MANAGER, P.GENERAL, P.ARCHIVIST)


def _require(user, *posts: str) -> None:
    # A superuser too: the flag holds no post's powers (SPEC §16.14). A refusal shows the 403 page
    # (loancenter.middleware.ForbiddenPageMiddleware).
    require_post(user, *posts)


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


# ---------------------------------------------------------------------------------------------------------------
# Drill-down lists and warning levels (issue 6): the manager (and admin) only.

PAGE_SIZE = 50
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header


def _require_manager(user) -> None:
    _require(user, P.MANAGER)


class LoanFilterForm(forms.Form):
    status = forms.MultipleChoiceField(required=False, choices=Status.choices)
    product = forms.ModelMultipleChoiceField(required=False, queryset=Product.objects.order_by("code"))
    officer = forms.ModelMultipleChoiceField(required=False, queryset=User.objects.none())
    tier = forms.MultipleChoiceField(required=False, choices=[("current", _lazy("Not overdue"))] + [(t, t) for t in TIERS])
    grade = forms.MultipleChoiceField(required=False, choices=GRADE_CHOICES)
    dpd_min = forms.IntegerField(required=False, min_value=0, label=_lazy("Days past due from"))
    dpd_max = forms.IntegerField(required=False, min_value=0, label=_lazy("Days past due to"))
    decided_from = forms.DateField(required=False)
    decided_to = forms.DateField(required=False)
    disbursed_from = forms.DateField(required=False)
    disbursed_to = forms.DateField(required=False)
    due_from = forms.DateField(required=False)
    due_to = forms.DateField(required=False)
    recovery = forms.BooleanField(required=False, label=_lazy("Written off or in tier T3"))
    order = forms.ChoiceField(required=False, choices=[(k, k) for k in reports.DRILL_ORDERS])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = User.objects.filter(groups__name=P.MARKETING).order_by("username")


LIST_HEADER = ["application_no", "customer", "product", "marketing_officer", "status", "amount", "outstanding_principal",
               "days_past_due", "collection_tier", "grade", "provision", "status_changed_at"]


def _row(loan) -> list:
    return [loan.application_no or f"#{loan.pk}", loan.customer.name, loan.product.code, loan.marketing_officer.username,
            loan.status, f"{loan.amount:.2f}", f"{loan.outstanding_principal:.2f}", loan.days_past_due,
            loan.collection_tier, loan.grade, f"{loan.provision:.2f}",
            timezone.localtime(loan.status_changed_at).strftime("%Y-%m-%d %H:%M")]


class _Echo:
    def write(self, value):
        return value


def _export_csv(loans) -> StreamingHttpResponse:
    out = csv.writer(_Echo())

    def rows():
        yield "\ufeff"
        yield out.writerow(LIST_HEADER)
        for loan in loans.iterator(chunk_size=2000):
            yield out.writerow(_row(loan))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="loans.csv"'
    return response


def _export_xlsx(loans) -> HttpResponse:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("loans")
    sheet.append(LIST_HEADER)
    for n, loan in enumerate(loans.iterator(chunk_size=2000)):
        if n >= XLSX_MAX_ROWS:
            break
        row = _row(loan)
        for i in (5, 6, 10):
            row[i] = Decimal(row[i])
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = 'attachment; filename="loans.xlsx"'
    return response


def loan_list(request):
    """``/reports/loans/?status=…&grade=…&tier=…&dpd_min=…[&format=csv|xlsx]``: the loans behind a figure.

    Pages of 50 without a COUNT (a count of a million rows costs more than the page): the page reads 51 rows to know
    whether a next page exists. Exports carry the same filter, unpaginated.
    """
    _require_manager(request.user)
    form = LoanFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    loans = reports.drilldown_loans(filters)
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        return _export_csv(loans)
    if fmt == "xlsx":
        return _export_xlsx(loans)
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(loans[(page - 1) * PAGE_SIZE: page * PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "reports/loans.html", {
        "form": form, "loans": rows[:PAGE_SIZE], "page": page, "has_next": len(rows) > PAGE_SIZE,
        "has_previous": page > 1, "query": query.urlencode(), "page_size": PAGE_SIZE,
    })


class WarningLevelForm(forms.Form):
    figure = forms.ChoiceField(label=_lazy("Figure"), choices=[])
    direction = forms.ChoiceField(label=_lazy("Direction"), choices=WarningLevel.DIRECTIONS)
    threshold = forms.DecimalField(label=_lazy("Threshold (%)"), min_value=0, max_value=100, decimal_places=4)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["figure"].choices = list(warnings.FIGURES.items())


def warning_levels(request):
    """The manager's warning levels: the current one of each figure, a form to set one, and the history."""
    _require_manager(request.user)
    form = WarningLevelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            warnings.warning_level_set(actor=request.user, figure=data["figure"], direction=data["direction"],
                                       threshold=data["threshold"] / 100)
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The warning level was saved."))
            return redirect("warning-levels")
    current = warnings.current_levels()
    return render(request, "reports/warnings.html", {
        "form": form, "figures": [(code, label, current.get(code)) for code, label in warnings.FIGURES.items()],
        "history": warnings.history(),
    })
