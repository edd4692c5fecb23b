"""Queries that read loans and customers, scoped to what the reader may see (SPEC §4, data scope)."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from applications.models import Customer, Investigation, Loan, Status
from loancenter import posts as P

# The stage (applications.models.STAGE) from which a post sees a loan: "in or past their step".
POST_FROM_STAGE = {
    P.INVESTIGATOR: 1,
    P.REVIEWER: 3,
    P.APPROVER: 4,
    P.BRANCH_APPROVER: 5,
    P.MORTGAGE_CLERK: 6,
    P.DISBURSEMENT: 6,
}


def loan_scope(user) -> Q | None:
    """A filter for the loans ``user`` may see; ``None`` means all of them."""
    if user.is_superuser or user.posts & P.SEE_ALL_POSTS:
        return None
    scope = Q(pk__in=[])
    if user.has_post(P.MARKETING):
        scope |= Q(marketing_officer=user)
    stages = [POST_FROM_STAGE[p] for p in user.posts if p in POST_FROM_STAGE]
    if stages:
        scope |= Q(stage_reached__gte=min(stages))
    return scope


def loans_visible_to(user) -> QuerySet[Loan]:
    scope = loan_scope(user)
    qs = Loan.objects.all()
    return qs if scope is None else qs.filter(scope)


def customers_visible_to(user) -> QuerySet[Customer]:
    if user.is_superuser or user.posts & P.SEE_ALL_POSTS:
        return Customer.objects.all()
    scope = Q(pk__in=loans_visible_to(user).values("customer_id")) | Q(guarantees__loan__in=loans_visible_to(user))
    if user.has_post(P.MARKETING):
        scope |= Q(officer=user)
    return Customer.objects.filter(scope).distinct()


def access_loan(user, pk) -> Loan:
    """The loan if ``user`` may see it; 404 otherwise (outside the scope a loan does not exist)."""
    try:
        return loans_visible_to(user).select_related("customer", "product", "marketing_officer").get(pk=pk)
    except (Loan.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def access_customer(user, pk) -> Customer:
    try:
        return customers_visible_to(user).get(pk=pk)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def can_see_full_pii(user) -> bool:
    return bool(user.posts & P.FULL_PII_POSTS)


# Work queues: what waits for each post's action (oldest first).
def _queue_filters(user) -> Q:
    q = Q(pk__in=[])
    if user.has_post(P.MARKETING):
        # Indexed in page order by loan_officer_open_queue (migration 0008), whose condition is this filter.
        q |= Q(marketing_officer=user, status__in=[Status.DRAFT, Status.APPROVED])
    if user.has_post(P.INVESTIGATOR):
        mine = Investigation.objects.filter(assignee=user, completed_at__isnull=True).values("loan_id")
        q |= Q(status=Status.SUBMITTED) | Q(status=Status.INVESTIGATING, pk__in=mine)
    if user.has_post(P.REVIEWER):
        q |= Q(status=Status.UNDER_REVIEW) | Q(status=Status.CONTRACT_SIGNED, product__secured=False) | Q(
            status=Status.COLLATERAL_REGISTERED
        )
    if user.has_post(P.APPROVER):
        q |= Q(status=Status.PENDING_APPROVAL)
    if user.has_post(P.BRANCH_APPROVER):
        q |= Q(status=Status.PENDING_BRANCH_APPROVAL)
    if user.has_post(P.MORTGAGE_CLERK):
        q |= Q(status=Status.CONTRACT_SIGNED, product__secured=True)
    if user.has_post(P.DISBURSEMENT):
        q |= Q(status=Status.READY_TO_DISBURSE)
    if user.has_post(P.MANAGER):
        q |= Q(status__in=[Status.PENDING_APPROVAL, Status.PENDING_BRANCH_APPROVAL])
    return q


def work_queue(user) -> QuerySet[Loan]:
    # No DISTINCT: no filter joins a multi-valued relation (the investigator's own investigations are a subquery).
    # DISTINCT over every selected column sorted the whole queue on disk before a page's LIMIT (bench/load.py).
    return (
        loans_visible_to(user)
        .filter(_queue_filters(user))
        .select_related("customer", "product", "marketing_officer")
        .order_by("status_changed_at", "id")
    )
