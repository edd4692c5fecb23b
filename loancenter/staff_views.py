"""The managers' page of staff requests (rule 30): what waits, with approve and reject; what was decided lately.

Thin views over ``loancenter.services``: the post check first (a refusal is the 403 page, recorded), then the
request, then the service; a refusal of a decision comes back as a message on the page.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from loancenter import services
from loancenter.lib.errors import DomainError
from loancenter.models import StaffRequest
from loancenter.posts import POST_LABELS

RECENT = 50


def _labels(codes) -> str:
    return "、".join(str(POST_LABELS.get(code, code)) for code in sorted(codes))


def staff_requests(request):
    services.staff_request_check_reader(actor=request.user)
    items = StaffRequest.objects.select_related("user", "filed_by", "decided_by").prefetch_related("user__groups")
    pending = list(items.filter(state=StaffRequest.State.PENDING).order_by("filed_at", "id"))
    for item in pending:
        item.current_posts = _labels(g.name for g in item.user.groups.all())
        item.add_labels = _labels(item.add_posts)
    decided = list(items.exclude(state=StaffRequest.State.PENDING).order_by("-decided_at", "-id")[:RECENT])
    for item in decided:
        item.add_labels = _labels(item.add_posts)
    return render(request, "loancenter/staff_requests.html", {
        "pending": pending, "decided": decided, "may_decide": request.user.has_post("manager"),
    })


def staff_request_action(request, pk: int, action: str):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    calls = {
        "approve": (services.staff_request_approve, _("Request approved: it has taken effect.")),
        "reject": (services.staff_request_reject, _("Request rejected: nothing changed.")),
    }
    if action not in calls:
        raise Http404
    service, done = calls[action]
    services.staff_request_check_decider(actor=request.user, action=f"staff_request_{action}")
    item = get_object_or_404(StaffRequest, pk=pk)
    try:
        service(request_id=item.pk, actor=request.user, note=request.POST.get("note", ""))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("staff-requests")
