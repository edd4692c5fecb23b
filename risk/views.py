"""Pages of risk rating and pricing (SPEC §15): the validation report (page, PDF, Excel), the rate-grid overrides per
approver, and the scorecard versions (filed by one person, approved by another). Thin: the post check, a service or
a selector, render."""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from applications.catalog import CATEGORIES
from applications.models import Product, ScorecardVersion
from applications.pricing import scoring
from applications.pricing.models import RateOverride
from applications.pricing.services import override_rate_by_approver, scorecard_approve, scorecard_file, scorecard_reject
from applications.selectors import loans_visible_to
from applications.services import product_save
from loancenter import posts as P
from loancenter.auth import request_user
from loancenter.lib import export
from loancenter.lib.dates import book_date, today
from loancenter.lib.errors import DomainError
from loancenter.lib.pdf import render_pdf
from loancenter.rules import require_post
from risk.validation import validation_report

REPORT_POSTS = (P.MANAGER, P.GENERAL)
CARD_POSTS = (P.GENERAL, P.MANAGER)


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def _line(c) -> dict:
    return {"rating": c.rating or _("All"), "vintage": f"{c.vintage:%Y-%m}" if c.vintage else _("All"),
            "decided": c.decided, "approved": c.approved, "approval_rate": _pct(c.approval_rate),
            "disbursed": c.disbursed, "mature": c.mature, "bad": c.bad, "bad_rate": _pct(c.bad_rate)}


def _report_rows(report):
    yield [_("Scorecard validation"), report.as_of]
    yield [_("Gini"), report.gini, _("KS"), report.ks, _("Loans with 12 months' history"), report.scored]
    yield [_("Override rate"), float(report.override_rate) if report.override_rate is not None else None]
    yield []
    yield [_("Rating"), _("Vintage"), _("Decided"), _("Approved"), _("Approval rate"), _("Disbursed"),
           _("With 12 months' history"), _("Ever 90+ days past due"), _("Share ever 90+ days past due")]
    for c in [*report.cells, *report.by_rating, report.total]:
        vintage = f"{c.vintage:%Y-%m}" if c.vintage else _("All")
        yield [c.rating or _("All"), vintage, c.decided, c.approved,
               float(c.approval_rate) if c.approval_rate is not None else None, c.disbursed, c.mature, c.bad,
               float(c.bad_rate) if c.bad_rate is not None else None]
    yield []
    yield [_("Approver"), _("Approvals"), _("Overrides"), _("Override rate")]
    for a in report.approvers:
        yield [a["approver__username"], a["approvals"], a["overrides"], float(a["rate"]) if a["rate"] else 0.0]


def validation(request):
    """``/reports/validation/[?format=pdf|xlsx]`` for the manager (and the general post that keeps the cards)."""
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401)
        return redirect_to_login(request.get_full_path())
    require_post(user, *REPORT_POSTS)
    as_of = book_date() or today()  # the latest finished nightly run, or today before the first one
    report = validation_report(loans_visible_to(user), as_of=as_of)
    fmt = request.GET.get("format", "")
    if fmt == "xlsx":
        return export.xlsx_response("scorecard-validation.xlsx", str(_("Scorecard validation")), _report_rows(report))
    context = {"report": report, "printed_on": today(), "gini": _ratio(report.gini), "ks": _ratio(report.ks),
               "override_rate": _pct(report.override_rate),
               "approvers": [{**a, "rate_pct": _pct(a["rate"])} for a in report.approvers],
               "lines": [_line(c) for c in report.cells], "ratings": [_line(c) for c in report.by_rating],
               "total": _line(report.total)}
    if fmt == "pdf":
        response = HttpResponse(render_pdf("pdf/validation_report.html", context), content_type="application/pdf")
        response["Content-Disposition"] = 'inline; filename="scorecard-validation.pdf"'
        return response
    return render(request, "risk/validation.html", context)


validation.login_exempt = True  # authenticated above: session or token


def overrides(request):
    """``/reports/overrides/``: the rate-grid overrides per approver (SPEC §15), with the override rate."""
    require_post(request.user, *REPORT_POSTS)
    visible = loans_visible_to(request.user)
    items = (RateOverride.objects.filter(loan__in=visible.values("pk")).select_related("loan", "actor")
             .order_by("actor__username", "-at")[:500])
    approvers = [{**a, "rate_pct": _pct(a["rate"])} for a in override_rate_by_approver(visible)]
    return render(request, "risk/overrides.html", {"approvers": approvers, "items": items})


# ---------------------------------------------------------------------------------------------------------------
# Scorecards


def scorecards(request):
    require_post(request.user, *CARD_POSTS)
    versions = ScorecardVersion.objects.select_related("filed_by", "decided_by").order_by("category", "-number")
    return render(request, "risk/scorecards.html", {"versions": versions, "categories": CATEGORIES})


def scorecard_detail(request, pk: int):
    require_post(request.user, *CARD_POSTS)
    version = get_object_or_404(ScorecardVersion.objects.select_related("filed_by", "decided_by"), pk=pk)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                scorecard_approve(version_id=version.pk, actor=request.user)
                messages.success(request, _("Scorecard %(card)s is now in use.") % {"card": version})
            elif action == "reject":
                scorecard_reject(version_id=version.pk, actor=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, _("Scorecard %(card)s was rejected.") % {"card": version})
        except DomainError as error:
            messages.error(request, error.message)
            return render(request, "risk/scorecard_detail.html", _detail_context(request, version), status=error.status)
        return redirect("scorecard", pk=version.pk)
    return render(request, "risk/scorecard_detail.html", _detail_context(request, version))


def _detail_context(request, version):
    rows = []
    for code, (label, _direction, missing) in scoring.FACTORS.items():
        spec = version.factors.get(code)
        if spec is None:
            continue
        if code == "residence":
            bands = [(str(dict(_residences()).get(k, k)), p) for k, p in spec["points"].items()]
        else:
            bands = [(f"≥ {b['from']}", b["points"]) for b in spec["bands"]]
            if missing and missing in spec:
                bands.append((_("no report") if missing == "no_report" else _("unknown"), spec[missing]))
        rows.append({"code": code, "label": label, "bands": bands})
    return {"version": version, "rows": rows, "may_decide": version.status == ScorecardVersion.State.PENDING
            and version.filed_by_id != request.user.pk, "in_use": version.in_use}


def _residences():
    from applications.models import RESIDENCE_CHOICES

    return [*RESIDENCE_CHOICES, ("unknown", _("unknown"))]


def scorecard_new(request):
    """File a new version of a category's card, starting from the one in use (edited as JSON: bands and points)."""
    require_post(request.user, *CARD_POSTS)
    category = request.POST.get("category") or request.GET.get("category") or "consumer"
    if category not in CATEGORIES:
        category = "consumer"
    current = ScorecardVersion.objects.filter(category=category).order_by("-number").first()
    initial = {"factors": json.dumps(current.factors if current else {}, ensure_ascii=False, indent=1),
               "cutoffs": json.dumps(current.cutoffs if current else {}, ensure_ascii=False),
               "base_points": current.base_points if current else 0, "note": ""}
    error = None
    if request.method == "POST":
        initial = {k: request.POST.get(k, "") for k in ("factors", "cutoffs", "base_points", "note")}
        try:
            factors, cutoffs = json.loads(initial["factors"]), json.loads(initial["cutoffs"])
            base = int(initial["base_points"] or 0)
        except (ValueError, TypeError):
            error = _("The factors and cut-offs are JSON; the base points a whole number.")
        else:
            try:
                version = scorecard_file(actor=request.user, category=category, factors=factors, cutoffs=cutoffs,
                                         base_points=base, note=initial["note"])
            except DomainError as refusal:
                error = refusal.message
            else:
                messages.success(request, _("Scorecard %(card)s was filed; another person approves it.")
                                 % {"card": version})
                return redirect("scorecard", pk=version.pk)
    return render(request, "risk/scorecard_form.html",
                  {"category": category, "categories": CATEGORIES, "initial": initial, "error": error,
                   "current": current}, status=400 if error else 200)


# ---------------------------------------------------------------------------------------------------------------
# A product's rate grid in the browser (general, manager): rates as percentages (SPEC §16.5), spreads in basis points.


class RateGridForm(forms.Form):
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, product, **kwargs):
        super().__init__(*args, **kwargs)
        current = {row.rating: row for row in product.rate_grid.all()}
        self.fields["version"].initial = product.version
        pct = {"max_digits": 8, "decimal_places": 4, "min_value": Decimal("0"), "max_value": Decimal("100"),
               "required": False, "widget": forms.NumberInput(attrs={"step": "any", "size": 6})}
        bp = {"min_value": -10000, "max_value": 10000, "required": False,
              "widget": forms.NumberInput(attrs={"size": 6})}
        for rating in scoring.RATINGS:
            row = current.get(rating)
            self.fields[f"{rating}-min_rate"] = forms.DecimalField(label=_("Minimum rate (%)"), **pct)
            self.fields[f"{rating}-max_rate"] = forms.DecimalField(label=_("Maximum rate (%)"), **pct)
            self.fields[f"{rating}-min_spread_bp"] = forms.IntegerField(label=_("Minimum spread (bp)"), **bp)
            self.fields[f"{rating}-max_spread_bp"] = forms.IntegerField(label=_("Maximum spread (bp)"), **bp)
            self.fields[f"{rating}-max_amount"] = forms.DecimalField(
                label=_("Maximum amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
                widget=forms.NumberInput(attrs={"step": "0.01", "size": 12}))
            if row is not None:
                for name in ("min_rate", "max_rate"):
                    value = getattr(row, name)
                    self.fields[f"{rating}-{name}"].initial = None if value is None else (value * 100).normalize()
                for name in ("min_spread_bp", "max_spread_bp", "max_amount"):
                    self.fields[f"{rating}-{name}"].initial = getattr(row, name)

    def rows(self) -> list[dict]:
        data, rows = self.cleaned_data, []
        for rating in scoring.RATINGS:
            values = {name: data.get(f"{rating}-{name}") for name in GRID_NAMES}
            if all(v is None for v in values.values()):
                continue
            for name in ("min_rate", "max_rate"):
                if values[name] is not None:
                    values[name] = (values[name] / 100).quantize(Decimal("0.000001"))
            rows.append({"rating": rating, **values})
        return rows

    def headers(self) -> list:
        return [self.fields[f"A-{name}"].label for name in GRID_NAMES]

    def table(self):
        return [{"rating": r, "cells": [self[f"{r}-{name}"] for name in GRID_NAMES]} for r in scoring.RATINGS]


GRID_NAMES = ("min_rate", "max_rate", "min_spread_bp", "max_spread_bp", "max_amount")


def rate_grid(request, pk: int):
    """``/products/{id}/rate-grid/``: the product's grid, replaced as a whole through ``product_save`` (audited)."""
    require_post(request.user, P.GENERAL, P.MANAGER)
    product = get_object_or_404(Product, pk=pk)
    form = RateGridForm(request.POST or None, product=product)
    if request.method == "POST" and form.is_valid():
        try:
            product_save(actor=request.user, data={"rate_grid": form.rows()}, product_id=product.pk,
                         version=form.cleaned_data.get("version"))
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The rate grid of %(name)s was saved.") % {"name": product.name})
            return redirect("product-rate-grid", pk=product.pk)
    return render(request, "risk/rate_grid.html", {"form": form, "product": product},
                  status=400 if form.errors else 200)
