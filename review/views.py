"""Browser actions of the review/approval side that are not state transitions."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.selectors import access_loan
from loancenter.lib.errors import DomainError
from loancenter.refusals import check_caller
from review.services import decision_record_notification


class NotificationForm(forms.Form):
    notified_on = forms.DateField(label=gettext_lazy("Customer notified on"))


def loan_notification(request, pk: int):
    """Rule 12: the officer records the day the customer was told of the decision."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    loan = access_loan(request.user, pk, action="customer_notified")
    check_caller(decision_record_notification, request.user, loan_id=loan.pk)  # the post before the input
    form = NotificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date the customer was notified."))
        return redirect("loan-detail", loan.pk)
    try:
        decision_record_notification(loan_id=loan.pk, actor=request.user, notified_on=form.cleaned_data["notified_on"])
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The customer notification was recorded."))
    return redirect("loan-detail", loan.pk)
