"""Security pages for the center manager: who looked at a customer's full ID and phone numbers (SPEC §4)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.shortcuts import render

from loancenter import posts as P
from loancenter.lib import params
from loancenter.lib.errors import DomainError
from loancenter.models import PiiView
from loancenter.rules import require_post

SURFACES = ["browser", "api", "pdf"]


def pii_views_log(*, viewer: str = "", customer_id: int | None = None, surface: str = "") -> QuerySet[PiiView]:
    """Every recorded view of a full ID or phone number, newest first, optionally narrowed."""
    qs = PiiView.objects.select_related("viewer", "customer").order_by("-at", "-id")
    if viewer:
        qs = qs.filter(viewer__username=viewer)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if surface in SURFACES:
        qs = qs.filter(surface=surface)
    return qs


def pii_views(request):
    """客户隐私: the manager reviews who saw which customer's full ID/phone number, when and where."""
    try:
        require_post(request.user, P.MANAGER)  # a superuser too (SPEC §16.14)
    except DomainError as error:
        raise PermissionDenied(error.message) from None
    viewer = request.GET.get("viewer", "").strip()
    surface = request.GET.get("surface", "")
    raw_customer = request.GET.get("customer", "")
    customer_id = params.parse_id(raw_customer)  # "²" is a digit to str.isdigit, not to int()
    page = Paginator(pii_views_log(viewer=viewer, customer_id=customer_id, surface=surface), 50).get_page(
        request.GET.get("page")
    )
    return render(request, "security/pii_views.html", {
        "page": page, "viewer": viewer, "surface": surface, "customer": customer_id, "surfaces": SURFACES,
    })
