"""The hand-over pages (岗位变动交接, SPEC §13): the list with the filing form, one hand-over with its list of what
moves (and, while pending, the difference with what the giver holds now), approve / reject, and the printed sheet.

Thin views over ``loancenter.handovers``: the post check first (a refusal is the 403 page, recorded), then the
form, then the service; a refusal comes back as a form error or a message on the page (in the page's body answered
in place to htmx: ``loancenter.lib.inplace``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loancenter import handovers
from loancenter.auth import request_user
from loancenter.lib import inplace
from loancenter.lib.dates import today
from loancenter.lib.errors import DomainError
from loancenter.lib.pdf import render_pdf
from loancenter.models import Handover, User
from loancenter.refusals import check_caller, recording

RECENT = 50


class HandoverForm(forms.Form):
    from_user = forms.ModelChoiceField(label=gettext_lazy("Handed over by"), queryset=User.objects.none(),
                                       to_field_name="username")
    to_user = forms.ModelChoiceField(label=gettext_lazy("Received by"), queryset=User.objects.none(),
                                     to_field_name="username")
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = User.objects.filter(is_active=True).select_related("unit").order_by("unit_id", "username")
        self.fields["from_user"].queryset = people
        self.fields["to_user"].queryset = people
        self.fields["from_user"].label_from_instance = self.fields["to_user"].label_from_instance = (
            lambda u: f"{u.display} ({u.username}) · {u.unit.name}")


def _labelled(items: list[dict]) -> list[dict]:
    return [{**item, "kind_label": handovers.kind_label(item["kind"])} for item in items]


def _check_reader(user) -> None:
    with recording("handover_list", actor=user):
        handovers.check_reader(actor=user)


def handover_list(request):
    _check_reader(request.user)
    form = HandoverForm(request.POST or None)
    if request.method == "POST":
        check_caller(handovers.handover_file, request.user)
        if form.is_valid():
            try:
                handover = handovers.handover_file(actor=request.user, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Hand-over #%(id)s filed: it waits for a manager who is neither the filer "
                                            "nor a party.") % {"id": handover.pk})
                return redirect("handover", pk=handover.pk)
    items = Handover.objects.select_related("from_user", "to_user", "filed_by", "decided_by")
    return render(request, "loancenter/handovers.html", {
        "form": form,
        "pending": list(items.filter(status=Handover.Status.PENDING).order_by("filed_at", "id")),
        "decided": list(items.exclude(status=Handover.Status.PENDING).order_by("-decided_at", "-id")[:RECENT]),
    }, status=400 if request.method == "POST" else 200)


def _detail_context(request, pk: int) -> dict:
    """One hand-over's page as it is now (also the fragment a decision answers in place)."""
    handover = get_object_or_404(Handover.objects.select_related("from_user__unit", "to_user__unit", "filed_by",
                                                                 "decided_by"), pk=pk)
    preview = handovers.handover_preview(handover)
    user = request.user
    return {
        "handover": handover, "items": _labelled(preview["items"]),
        "added": _labelled(preview["difference"].get("added", [])),
        "removed": _labelled(preview["difference"].get("removed", [])),
        "filed_items": _labelled(handover.items),
        "may_decide": handover.is_pending and user.has_post("manager")
        and user.pk not in (handover.filed_by_id, handover.from_user_id, handover.to_user_id),
    }


def handover_detail(request, pk: int):
    _check_reader(request.user)
    return render(request, "loancenter/handover.html", _detail_context(request, pk))


def handover_action(request, pk: int, action: str):
    """Approve or reject: from the page with htmx, the page's body comes back with the outcome in it (issue 15 part
    14); without JavaScript, a message and the page. A refusal keeps its status and changes nothing."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    calls = {
        "approve": (handovers.handover_approve, _("Hand-over approved: the work has moved.")),
        "reject": (handovers.handover_reject, _("Hand-over rejected: nothing moved.")),
    }
    if action not in calls:
        raise Http404
    service, done = calls[action]
    check_caller(service, request.user)
    handover = get_object_or_404(Handover, pk=pk)
    status, text = inplace.attempt(
        lambda: service(actor=request.user, handover_id=handover.pk, note=request.POST.get("note", "")), done)
    return inplace.answer(request, status, text, back=reverse("handover", args=[handover.pk]),
                          template="loancenter/_handover_body.html",
                          context=lambda: _detail_context(request, handover.pk))


def handover_sheet(request, pk: int):
    """The printed hand-over sheet (交接清单), signed by the giver, the receiver and the approving manager."""
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401)
        return redirect_to_login(request.get_full_path())
    _check_reader(user)
    handover = get_object_or_404(Handover.objects.select_related("from_user__unit", "to_user__unit", "filed_by",
                                                                 "decided_by"), pk=pk)
    preview = handovers.handover_preview(handover)
    pdf = render_pdf("pdf/handover_sheet.html", {
        "handover": handover, "items": _labelled(preview["items"]),
        "added": _labelled(preview["difference"].get("added", [])),
        "removed": _labelled(preview["difference"].get("removed", [])), "printed_on": today(),
    })
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="handover-{handover.pk}.pdf"'
    return response


handover_sheet.login_exempt = True  # authenticated above: session or token
