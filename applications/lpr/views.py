"""The LPR register page (SPEC §15, §16.32): the history, the form to record a publication and the second person's
confirm / reject. Thin views over ``applications.lpr.services``; the post check comes first (a refusal is the 403 page,
recorded), then the input; a refused decision comes back as a message on the page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from applications.lpr import services
from applications.lpr.models import LprPublication
from applications.lpr.selectors import lpr_history, lpr_in_force
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.posts import ALL_POSTS
from loancenter.refusals import check_caller
from loancenter.rules import require_post

PERCENT = Decimal(100)


class LprForm(forms.Form):
    """Pages take percentages (SPEC §16.5): 3.10 means 3.10 % a year."""

    published_on = forms.DateField(label=_("Published on"), widget=forms.DateInput(attrs={"type": "date"}))
    lpr_1y = forms.DecimalField(label=_("1-year LPR (%)"), max_digits=6, decimal_places=4, min_value=Decimal("0.5"),
                                max_value=Decimal("20"))
    lpr_5y = forms.DecimalField(label=_("5-year LPR (%)"), max_digits=6, decimal_places=4, min_value=Decimal("0.5"),
                                max_value=Decimal("20"))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


def lpr_register(request):
    require_post(request.user, *ALL_POSTS)  # every post reads the register (rates are public); two may file
    may_file = request.user.has_any_post(*services.LPR_POSTS)
    form = LprForm()
    if request.method == "POST":
        check_caller(services.lpr_file, request.user)
        form = LprForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.lpr_file(actor=request.user, published_on=data["published_on"], lpr_1y=data["lpr_1y"] / PERCENT,
                                  lpr_5y=data["lpr_5y"] / PERCENT, note=data["note"])
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Publication recorded: it takes effect when another person confirms it."))
                return redirect("lpr-register")
    history = list(lpr_history()[:200])
    return render(request, "applications/lpr.html", {
        "history": history, "current": lpr_in_force(today()), "may_file": may_file, "form": form,
    }, status=400 if form.errors else 200)


def lpr_action(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    calls = {"confirm": (services.lpr_confirm, _("Publication confirmed: it is in force.")),
             "reject": (services.lpr_reject, _("Publication rejected: it never takes effect."))}
    if action not in calls:
        raise Http404
    service, done = calls[action]
    check_caller(service, request.user)
    publication = get_object_or_404(LprPublication, pk=pk)
    try:
        service(publication_id=publication.pk, actor=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("lpr-register")
