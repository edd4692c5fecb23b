"""Browser pages of the contract-to-disbursement stage: the pre-disbursement checklist and the registration ledger.

Thin views: ``access_loan`` for scope (404 outside it), a selector to read, a service (or ``perform_step``)
to act; a ``DomainError`` is shown with its own message, a wrong post gets the 403 page.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as InputError

from applications import listing
from applications.models import Status
from applications.selectors import access_loan
from applications.workflow import available_transitions, perform_step
from disbursement import selectors, services
from disbursement.forms import HandOverForm, RegisterCollateralInput, RegistrationApplyForm
from disbursement.models import CollateralRegistration
from loancenter import posts as P
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, Forbidden
from loancenter.refusals import check_caller
from loancenter.rules import require_post

LEDGER_POSTS = (P.MORTGAGE_CLERK, P.DISBURSEMENT, P.GENERAL, P.MANAGER)


def disbursement_check(request, pk: int):
    """The disbursement officer's pre-disbursement checklist: rules 13–17 ticked or crossed by the system."""
    loan = access_loan(request.user, pk)
    checklist = selectors.disbursement_checklist(loan)
    receipt = getattr(loan, "receipt", None)
    return render(request, "disbursement/check.html", {
        "loan": loan, "checklist": checklist, "all_ok": all(ok for _label, ok, _message in checklist),
        "receipt": receipt, "self_allowed": selectors.self_payment_allowed(loan),
        "mode_note": selectors.payment_mode_note(loan), "today": today(),
        "can_disburse": "disburse" in available_transitions(loan, request.user),
        "ready": loan.status == Status.READY_TO_DISBURSE,
    })


def ledger(request):
    """The mortgage registration ledger (抵押登记台帐) with the secured loans waiting for the clerk."""
    require_post(request.user, *LEDGER_POSTS)
    status = request.GET.get("status", "")
    if status not in dict(selectors.LEDGER_STATUSES):
        status = ""
    # The loan filters, sort and export (issue 15 part 12), prefixed: ``status`` is the ledger's own.
    form = listing.LoanListForm(request.GET or None, user=request.user, prefix="loan")  # the ledger's order: waiting
    fmt = request.GET.get("format", "")
    filters = {"form": form, "kept": listing.kept_query(request), "carry": [("status", status)] if status else []}
    if form.is_bound and not form.is_valid():
        return listing.bad_filter_response(form, fmt, lambda: render(request, "disbursement/ledger.html", {
            "lines": [], "status": status, "statuses": selectors.LEDGER_STATUSES, **filters}))
    lines = selectors.ledger_lines(request.user, status=status, narrow=form.apply)
    if fmt in listing.EXPORT_FORMATS:
        return listing.sections_response(fmt, "registration-ledger", [listing.Section(
            _("Registration ledger"), [line.loan for line in lines], _ledger_item(lines), path="")])
    is_clerk = request.user.has_post(P.MORTGAGE_CLERK)
    return render(request, "disbursement/ledger.html", {
        **filters, "lines": lines, "status": status, "statuses": selectors.LEDGER_STATUSES, "is_clerk": is_clerk,
        "officers": list(selectors.disbursement_officers()) if is_clerk else [], "today": today(),
        "overdue_count": sum(1 for line in lines if line.overdue),
        "registration_overdue_days": selectors.REGISTRATION_OVERDUE_DAYS,
        "application_overdue_days": selectors.APPLICATION_OVERDUE_DAYS,
    })


def _ledger_item(lines):
    """What the export says of each line: its ledger state (and why it is overdue), and the day it was applied for."""
    by_loan = {line.loan.pk: line for line in lines}

    def describe(loan):
        line = by_loan[loan.pk]
        text = f"{line.status_label} · {line.overdue_reason}" if line.overdue else line.status_label
        return text, line.entry.applied_on if line.entry is not None else None

    return describe


def _back_to_ledger(request):
    status = request.POST.get("status", "")
    url = reverse("registration-ledger")
    return redirect(f"{url}?{urlencode({'status': status})}" if status else url)


def _refused(request, error: DomainError):
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.message)
    messages.error(request, error.message)
    return _back_to_ledger(request)


def _form_errors(request, errors) -> None:
    for field, problems in errors.items():
        for problem in problems:
            messages.error(request, f"{field}: {problem}" if field != "__all__" else str(problem))


@require_POST
def ledger_apply(request, pk: int):
    """File the registration at the registry: a new ledger line."""
    loan = access_loan(request.user, pk, action="registration_apply")
    check_caller(services.registration_apply, request.user, loan_id=loan.pk)  # the post before the input (403 page)
    form = RegistrationApplyForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form.errors)
        return _back_to_ledger(request)
    try:
        services.registration_apply(loan_id=loan.pk, actor=request.user, **form.cleaned_data)
    except DomainError as error:
        return _refused(request, error)
    messages.success(request, _("Registration of %(loan)s filed at %(registry)s.") % {
        "loan": loan, "registry": form.cleaned_data["registry"]})
    return _back_to_ledger(request)


@require_POST
def ledger_register(request, pk: int):
    """Record the registry's registration and the certificate number (the ``register_collateral`` transition)."""
    loan = access_loan(request.user, pk, action="register_collateral")
    data = {k: request.POST.get(k, "").strip() for k in ("registry", "registered_on", "certificate_no")}
    try:
        perform_step("register_collateral", RegisterCollateralInput, services.loan_register_collateral,
                     loan_id=loan.pk, actor=request.user, data=data)
    except InputError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"__all__": exc.detail}
        _form_errors(request, detail)
        return _back_to_ledger(request)
    except DomainError as error:
        return _refused(request, error)
    messages.success(request, _("Registration of %(loan)s recorded: certificate %(no)s.") % {
        "loan": loan, "no": data["certificate_no"]})
    return _back_to_ledger(request)


@require_POST
def ledger_hand_over(request, pk: int):
    """Hand the certificate (他项权证) to a disbursement officer (rule 14)."""
    loan = access_loan(request.user, pk, action="certificate_hand_over")
    check_caller(services.certificate_hand_over, request.user, loan_id=loan.pk)
    form = HandOverForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form.errors)
        return _back_to_ledger(request)
    try:
        services.certificate_hand_over(loan_id=loan.pk, actor=request.user, to_user=form.cleaned_data["to_user"])
    except DomainError as error:
        return _refused(request, error)
    except CollateralRegistration.DoesNotExist:
        messages.error(request, _("This loan has no line in the registration ledger yet."))
        return _back_to_ledger(request)
    messages.success(request, _("Certificate of %(loan)s handed over to %(who)s.") % {
        "loan": loan, "who": form.cleaned_data["to_user"].display})
    return _back_to_ledger(request)
