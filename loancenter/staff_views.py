"""The managers' page of staff requests (rule 30): what waits, with approve and reject; what was decided lately.

Thin views over ``loancenter.services``: the post check first (a refusal is the 403 page, recorded), then the
request, then the service; a refusal of a decision comes back as a message on the page, or in the page's body
answered in place to htmx (``loancenter.lib.inplace``).
"""

from __future__ import annotations

from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _

from loancenter import services
from loancenter.lib import inplace
from loancenter.models import StaffRequest
from loancenter.posts import POST_LABELS

RECENT = 50


def _labels(codes) -> str:
    return "、".join(str(POST_LABELS.get(code, code)) for code in sorted(codes))


def _page_context(request) -> dict:
    """The page's body as it is now: what waits, what was decided lately (also the fragment of a decision in place)."""
    items = StaffRequest.objects.select_related("user", "filed_by", "decided_by").prefetch_related("user__groups")
    pending = list(items.filter(state=StaffRequest.State.PENDING).order_by("filed_at", "id"))
    for item in pending:
        item.current_posts = _labels(g.name for g in item.user.groups.all())
        item.add_labels = _labels(item.add_posts)
    decided = list(items.exclude(state=StaffRequest.State.PENDING).order_by("-decided_at", "-id")[:RECENT])
    for item in decided:
        item.add_labels = _labels(item.add_posts)
    return {"pending": pending, "decided": decided, "may_decide": request.user.has_post("manager")}


def staff_requests(request):
    services.staff_request_check_reader(actor=request.user)
    return render(request, "loancenter/staff_requests.html", _page_context(request))


def staff_request_action(request, pk: int, action: str):
    """Approve or reject: from the page with htmx, the page's body comes back with the outcome in it (issue 15 part
    14); without JavaScript, a message and the page. A refusal (separation of duty, already decided) keeps its
    status and changes nothing."""
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
    status, text = inplace.attempt(
        lambda: service(request_id=item.pk, actor=request.user, note=request.POST.get("note", "")), done)
    return inplace.answer(request, status, text, back=reverse("staff-requests"),
                          template="loancenter/_staff_requests_body.html", context=lambda: _page_context(request))
