"""The classification report (五级分类, 迁徙率) as page, CSV and PDF; the manager's "run the batch now" button.

Thin views: the post check, the selectors of ``postloan.reports``, render. The PDF and CSV accept the session or an
API token like every other PDF address (SPEC §8).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.models import Loan, Product, Status
from applications.selectors import loans_visible_to
from loancenter import posts as P
from loancenter.auth import request_user
from loancenter.lib import export, params
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.lib.money import q2
from loancenter.lib.pdf import render_pdf
from loancenter.models import Unit, User
from loancenter.rules import require_post
from postloan import accountability, reports, warnings
from postloan.models import GRADE_CHOICES, TIER_CHOICES, WarningLevel, WeeklyReport
from postloan.tasks import batch_start
from postloan.weekly import week_of, weekly_report_generate

REPORT_POSTS = (P.MANAGER, P.GENERAL, P.ARCHIVIST)


def _require(user, *posts: str) -> None:
    # A superuser too: the flag holds no post's powers (SPEC §16.14). A refusal shows the 403 page
    # (loancenter.middleware.ForbiddenPageMiddleware).
    require_post(user, *posts)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


def _pct(value) -> export.Percent | None:
    """A ratio in an export: a percentage in Excel's cell format and in the CSV's text (one rule, ``fmt_rate``)."""
    return None if value is None else export.Percent(value)


def cut_text(form: DimensionForm) -> str:
    """The filters applied, in words, for the report's heading and exports ("" for none)."""
    parts = []
    for name, field in form.fields.items():
        chosen = form.cleaned_data.get(name) if form.is_valid() else None
        if chosen:
            labels = dict(field.choices)
            parts.append(f"{field.label}: {'、'.join(str(labels.get(c, c)) for c in chosen)}")
    return "; ".join(parts)


def _csv(report: reports.ClassificationReport, cut: str = ""):
    def rows():
        yield [_("Classification report"), report.month_end, cut]
        yield [_("Grade"), _("Loans"), _("Balance"), _("Provision"), _("Share of balance"),
               _("Of which restructured: loans"), _("Restructured balance")]
        for line in [*report.grades, report.total]:
            yield [line.label or _("Total"), line.loans, q2(line.balance), q2(line.provision), _pct(line.share),
                   line.restructured_loans, q2(line.restructured_balance)]
        yield [_("Non-performing balance"), None, q2(report.npl_balance), None, _pct(report.npl_ratio)]
        yield [_("Written off (off the books)"), report.written_off.loans, q2(report.written_off.balance), None, None]
        yield []
        matrix = report.matrix
        yield [_("Grade migration from %(prev)s to %(cur)s") % {"prev": matrix.previous.isoformat(),
                                                               "cur": matrix.month_end.isoformat()}]
        header = [_("Previous grade")]
        for _code, label in matrix.columns:
            header += [f"{label} {_('loans')}", f"{label} {_('balance')}", f"{label} %"]
        yield [*header, _("Loans"), _("Balance")]
        for row in matrix.rows:
            line = [row.label]
            for cell in row.cells:
                line += [cell.loans, q2(cell.balance), _pct(cell.loans_pct)]
            yield [*line, row.loans, q2(row.balance)]

    # Built now, in the reader's language: the response is written after the view has returned.
    return export.csv_response(f"classification-{report.month_end:%Y-%m}.csv", list(rows()))


class DimensionForm(forms.Form):
    """SPEC §13: the dimensions a report is cut by — unit, product, the customer's region and industry, officer."""

    # Ticked in a list that folds behind its summary (``reports/_dimension_filters.html``): a finger ticks a box on a
    # phone, where a multiple <select> needs Ctrl; the address is the same (``?unit=a&unit=b``).
    unit = forms.MultipleChoiceField(label=gettext_lazy("Unit"), required=False, choices=[],
                                     widget=forms.CheckboxSelectMultiple)
    product = forms.MultipleChoiceField(label=gettext_lazy("Product"), required=False, choices=[],
                                        widget=forms.CheckboxSelectMultiple)
    region = forms.MultipleChoiceField(label=gettext_lazy("Region"), required=False, choices=[],
                                       widget=forms.CheckboxSelectMultiple)
    industry = forms.MultipleChoiceField(label=gettext_lazy("Industry"), required=False, choices=[],
                                         widget=forms.CheckboxSelectMultiple)
    officer = forms.MultipleChoiceField(label=gettext_lazy("Marketing officer"), required=False, choices=[],
                                        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = reports.unit_choices()
        self.fields["product"].choices = [(p.code, p.name) for p in Product.objects.order_by("code")]
        self.fields["region"].choices = reports.region_choices()
        self.fields["industry"].choices = reports.industry_choices()
        self.fields["officer"].choices = [
            (u.username, u.display) for u in User.objects.filter(groups__name=P.MARKETING).order_by("username")]

    def summaries(self) -> list[tuple]:
        """Each dimension's field with what is ticked, in words, for its folded summary ("" for none)."""
        rows = []
        for bound in self:
            labels = dict(bound.field.choices)
            chosen = [str(labels[v]) for v in (bound.value() or []) if v in labels]
            rows.append((bound, "、".join(chosen)))
        return rows


def dimension_filters(request, user) -> tuple[DimensionForm, dict | None, str | None]:
    """The dimension filters of the address (``dimension_filter``'s keys), the reader's unit forced for the staff of
    a sub-center (SPEC §16.26); an error message when a filter cannot be applied."""
    form = DimensionForm(request.GET)
    if not form.is_valid():
        return form, None, "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
    data = form.cleaned_data
    f = {"unit": data["unit"], "region": data["region"], "industry": data["industry"],
         "product_code": data["product"],
         "officer_id": list(User.objects.filter(username__in=data["officer"]).values_list("pk", flat=True))}
    if data["officer"] and not f["officer_id"]:
        f["officer_id"] = [0]
    if not user.in_center:
        f["unit"] = [user.unit_id]
    return form, f, None


def classification(request):
    """``/reports/classification/?month=YYYY-MM[&format=csv|pdf]`` for the manager, general post and archivist."""
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401)
        return redirect_to_login(request.get_full_path())
    _require(user, *REPORT_POSTS)
    fmt = request.GET.get("format", "")
    dimensions, f, problem = dimension_filters(request, user)
    if problem:  # a cut that cannot be applied is never dropped silently
        return _bad_request(problem)
    try:
        month = params.parse_month(request.GET.get("month"))
    except ValueError as error:
        if fmt in ("csv", "pdf"):  # an export of some other month than asked for would mislead: refuse it
            return _bad_request(str(error))
        messages.warning(request, str(error))
        month = None
    month_end = (reports.month_end_of(*month) if month else None) or reports.latest_month_end() \
        or reports.previous_month_end(today())
    report = reports.classification_report(month_end, f)
    if fmt == "csv":
        return _csv(report, cut_text(dimensions))
    context = {"report": report, "matrix": report.matrix, "month": f"{month_end:%Y-%m}", "dimensions": dimensions,
               "cut": cut_text(dimensions),
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


def _require_manager(user) -> None:
    _require(user, P.MANAGER)


# The drill-down's orders, as a person reads them (issue 15 part 4); the codes stay in the address.
ORDER_LABELS = {
    "id": gettext_lazy("Application (oldest first)"),
    "waiting": gettext_lazy("Waiting longest first"),
    "-dpd": gettext_lazy("Days past due (most first)"),
    "-balance": gettext_lazy("Outstanding principal (largest first)"),
}


class LoanFilterForm(forms.Form):
    status = forms.MultipleChoiceField(label=gettext_lazy("Status"), required=False, choices=Status.choices)
    product = params.IdMultipleChoiceField(label=gettext_lazy("Product"), required=False,
                                           queryset=Product.objects.order_by("code"))
    officer = params.IdMultipleChoiceField(label=gettext_lazy("Marketing officer"), required=False,
                                           queryset=User.objects.none())
    # SPEC §13: the organisation's dimensions (unit, the customer's province and industry; "none": not recorded).
    unit = forms.MultipleChoiceField(label=gettext_lazy("Unit"), required=False, choices=[])
    region = forms.MultipleChoiceField(label=gettext_lazy("Region"), required=False, choices=[])
    industry = forms.MultipleChoiceField(label=gettext_lazy("Industry"), required=False, choices=[])
    tier = forms.MultipleChoiceField(label=gettext_lazy("Collection tier"), required=False,
                                     choices=[("current", gettext_lazy("Not overdue"))] + TIER_CHOICES[1:])
    grade = forms.MultipleChoiceField(label=gettext_lazy("Grade"), required=False, choices=GRADE_CHOICES)
    dpd_min = params.ReportDaysField(required=False, label=gettext_lazy("Days past due from"))
    dpd_max = params.ReportDaysField(required=False, label=gettext_lazy("Days past due to"))
    decided_from = params.ReportDateField(label=gettext_lazy("Decided from"), required=False)
    decided_to = params.ReportDateField(label=gettext_lazy("Decided to"), required=False)
    disbursed_from = params.ReportDateField(label=gettext_lazy("Disbursed from"), required=False)
    disbursed_to = params.ReportDateField(label=gettext_lazy("Disbursed to"), required=False)
    due_from = params.ReportDateField(label=gettext_lazy("Installments due from"), required=False)
    due_to = params.ReportDateField(label=gettext_lazy("Installments due to"), required=False)
    recovery = forms.BooleanField(required=False, label=gettext_lazy("Written off or in tier T3"))
    order = forms.ChoiceField(label=gettext_lazy("Order"), required=False,
                              choices=[(k, ORDER_LABELS.get(k, k)) for k in reports.DRILL_ORDERS])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = User.objects.filter(groups__name=P.MARKETING).order_by("username")
        self.fields["officer"].label_from_instance = lambda user: user.display  # the name, not the login
        self.fields["unit"].choices = reports.unit_choices()
        self.fields["region"].choices = reports.region_choices()
        self.fields["industry"].choices = reports.industry_choices()


def _export_rows(loans):
    """The drill-down as rows: a header of labels, then one loan a row with labels for its codes (SPEC §10)."""
    status, grade, tier = export.labels(Status.choices), export.labels(GRADE_CHOICES), export.labels(TIER_CHOICES)
    header = [str(h) for h in (_("Application no."), _("Customer"), _("Product"), _("Marketing officer"), _("Status"),
                               _("Amount"), _("Outstanding principal"), _("Days past due"), _("Collection tier"),
                               _("Grade"), _("Provision"), _("Status changed at"), _("Unit"), _("Region"), _("Industry"))]

    def rows():
        yield header
        for loan in loans.iterator(chunk_size=2000):
            yield [loan.application_no or f"#{loan.pk}", loan.customer.name, loan.product.name,
                   loan.marketing_officer.display, status.get(loan.status, loan.status), q2(loan.amount),
                   q2(loan.outstanding_principal), loan.days_past_due, tier.get(loan.collection_tier, loan.collection_tier),
                   grade.get(loan.grade, loan.grade), q2(loan.provision), loan.status_changed_at, loan.unit.name,
                   loan.customer.region_name, str(loan.customer.industry or "")]

    return rows()


def loan_list(request):
    """``/reports/loans/?status=…&grade=…&tier=…&dpd_min=…[&format=csv|xlsx]``: the loans behind a figure.

    Pages of 50 without a COUNT (a count of a million rows costs more than the page): the page reads 51 rows to know
    whether a next page exists. Exports carry the same filter, unpaginated.
    """
    _require_manager(request.user)
    form = LoanFilterForm(request.GET or None)
    fmt = request.GET.get("format", "")
    if form.is_bound and not form.is_valid():
        # A filter that cannot be applied is never dropped silently (the list would show more than was asked for).
        if fmt in ("csv", "xlsx"):
            return _bad_request("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()))
        return render(request, "reports/loans.html", {"form": form, "loans": [], "page": 1, "has_next": False,
                                                      "has_previous": False, "query": "", "page_size": PAGE_SIZE},
                      status=400)
    loans = reports.drilldown_loans(form.cleaned_data if form.is_bound else {}, loans_visible_to(request.user))
    if fmt == "csv":
        return export.csv_response("loans.csv", _export_rows(loans))
    if fmt == "xlsx":
        return export.xlsx_response("loans.xlsx", str(_("Loans")), _export_rows(loans))
    page = params.parse_page(request.GET.get("page"))
    rows = list(loans[(page - 1) * PAGE_SIZE: page * PAGE_SIZE + 1])
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "reports/loans.html", {
        "form": form, "loans": rows[:PAGE_SIZE], "page": page, "has_next": len(rows) > PAGE_SIZE,
        "has_previous": page > 1, "query": query.urlencode(), "page_size": PAGE_SIZE,
    })


class WarningLevelForm(forms.Form):
    figure = forms.ChoiceField(label=gettext_lazy("Figure"), choices=[])
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), choices=WarningLevel.DIRECTIONS)
    threshold = forms.DecimalField(label=gettext_lazy("Threshold (%)"), min_value=0, max_value=100, decimal_places=4)

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


# ---------------------------------------------------------------------------------------------------------------
# Officer accountability (issue 16 part 4): the manager sees every officer in their scope; an officer their own.


def _officer_rows(lines):
    header = [str(h) for h in (_("Marketing officer"), _("Unit"), _("Vintage"), _("Applications"), _("Decided"),
                               _("Approved"), _("Approval rate"), _("Loans disbursed"), _("Amount disbursed"),
                               _("Outstanding principal"), _("Overdue rate"), _("NPL rate"), _("Open checks"),
                               _("Overdue checks"), _("Open signals"))]

    def rows():
        yield header
        for line in lines:
            yield [line.officer, line.unit, line.vintage, line.applications, line.decided, line.approved,
                   _pct(line.approval_rate), line.disbursed_loans, q2(line.disbursed_amount), q2(line.balance),
                   _pct(line.overdue_rate), _pct(line.npl_rate), line.open_checks, line.overdue_checks,
                   line.open_signals]

    return list(rows())


def officer_accountability(request):
    """``/reports/officers/[?unit=…&product=…&region=…&industry=…&officer=…][&format=csv|xlsx]``."""
    user = request.user
    _require(user, P.MANAGER, P.GENERAL, P.MARKETING)
    dimensions, f, problem = dimension_filters(request, user)
    if problem:
        return _bad_request(problem)
    if user.has_any_post(P.MANAGER, P.GENERAL):
        loans = loans_visible_to(user)
    else:  # a marketing officer: what they originated, wherever it is now
        loans = accountability.originated_by(Loan.objects.all(), user)
    where = reports.dimension_filter(f)
    lines = accountability.officer_lines(loans if where is None else loans.filter(where))
    fmt = request.GET.get("format", "")
    if fmt == "csv":
        return export.csv_response("officers.csv", _officer_rows(lines))
    if fmt == "xlsx":
        return export.xlsx_response("officers.xlsx", str(_("Officer accountability")), _officer_rows(lines))
    return render(request, "reports/officers.html", {"lines": lines, "dimensions": dimensions,
                                                     "cut": cut_text(dimensions)})


# ---------------------------------------------------------------------------------------------------------------
# Weekly reports per unit (issue 16): listed, downloaded, regenerated on demand (manager, general).


def weekly_report_list(request):
    user = request.user
    _require(user, P.MANAGER, P.GENERAL)
    items = WeeklyReport.objects.select_related("unit").defer("pdf", "xlsx")
    if not user.in_center:
        items = items.filter(unit_id=user.unit_id)
    if request.method == "POST":
        try:
            week = params.parse_date(request.POST.get("week") or None, latest=today())
        except ValueError as error:
            messages.error(request, str(error))
            return redirect("weekly-reports")
        units = Unit.objects.all() if user.in_center else Unit.objects.filter(pk=user.unit_id)
        monday = week_of(week) if week else week_of(today()) - timedelta(days=7)
        for unit in units:
            weekly_report_generate(unit=unit, week_start=monday)
        messages.success(request, _("The weekly reports of %(day)s were generated.") % {"day": monday.isoformat()})
        return redirect("weekly-reports")
    return render(request, "reports/weekly.html", {"reports": list(items[:200])})


def weekly_report_file(request, pk: int, fmt: str):
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401)
        return redirect_to_login(request.get_full_path())
    _require(user, P.MANAGER, P.GENERAL)
    items = WeeklyReport.objects.all() if user.in_center else WeeklyReport.objects.filter(unit_id=user.unit_id)
    report = get_object_or_404(items, pk=pk)
    name = f"weekly-{report.unit_id}-{report.week_start:%Y-%m-%d}"
    if fmt == "pdf":
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
        return response
    response = HttpResponse(bytes(report.xlsx), content_type=export.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


weekly_report_file.login_exempt = True  # authenticated above: session or token
