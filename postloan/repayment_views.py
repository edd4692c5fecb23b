"""Staff posting a repayment in the browser (the general and disbursement posts), and the allocation it got.

The same input and the same service as ``POST /api/loans/{id}/repayments/``: a repeated reference shows the first
result and applies nothing; refusals are ``DomainError`` with their own message.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError as InputError

from applications.models import Status
from applications.selectors import access_loan
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError, Forbidden
from loancenter.refusals import check_caller
from postloan.models import Repayment
from postloan.selectors import schedule_as_of_book, schedule_totals, suggested_repayment_reference
from postloan.serializers import RepaymentInput
from postloan.services import is_paid_up, outstanding_total, repayment_post


def repayment_new(request, pk: int):
    """GET: the form on its own page; POST: apply the payment and show its allocation."""
    loan = access_loan(request.user, pk, action="repayment")
    check_caller(repayment_post, request.user, loan_id=loan.pk)  # the 403 page, recorded with the loan
    values = {"amount": "", "paid_on": today().isoformat(), "reference": suggested_repayment_reference(loan)}
    error, field_errors, status = None, {}, 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in ("amount", "paid_on", "reference")}
        parsed = RepaymentInput(data=values)
        try:
            parsed.is_valid(raise_exception=True)
            repayment, created = repayment_post(loan_id=loan.pk, actor=request.user, **parsed.validated_data)
        except InputError as exc:
            field_errors = {k: [str(e) for e in v] for k, v in exc.detail.items()}
            error, status = _("Please correct the fields marked below."), 400
        except Forbidden as exc:
            raise PermissionDenied(exc.message) from None
        except DomainError as exc:
            error, status = exc.message, exc.status
            if exc.field:
                field_errors = {exc.field: [exc.message]}
        else:
            if created:
                messages.success(request, _("Repayment %(ref)s applied.") % {"ref": repayment.reference})
            else:
                messages.warning(request, _("Reference %(ref)s was already applied; nothing was applied again. "
                                            "This is the first result.") % {"ref": repayment.reference})
            return redirect("repayment-detail", loan.pk, repayment.pk)
    return render(request, "postloan/repayment_form.html", {
        "loan": loan, "values": values, "error": error, "field_errors": field_errors,
        "outstanding_total": outstanding_total(loan) if loan.status == Status.ACTIVE else None,
    }, status=status)


def repayment_detail(request, pk: int, repayment_pk: int):
    """One repayment and how it was allocated."""
    loan = access_loan(request.user, pk)
    repayment = get_object_or_404(Repayment.objects.select_related("posted_by"), pk=repayment_pk, loan=loan)
    return render(request, "postloan/repayment_result.html", {
        "loan": loan, "repayment": repayment, "paid_up": is_paid_up(loan),
        "outstanding_total": outstanding_total(loan) if loan.status == Status.ACTIVE else None,
    })


def loan_schedule(request, pk: int):
    """A loan's whole repayment schedule as of the book date; the loan page shows the next twelve installments."""
    loan = access_loan(request.user, pk)
    installments = schedule_as_of_book(loan)
    return render(request, "postloan/schedule.html", {
        "loan": loan, "installments": installments, "installment_count": len(installments),
        "schedule_totals": schedule_totals(installments) if installments else None,
    })
