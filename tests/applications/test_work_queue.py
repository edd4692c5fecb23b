"""The work queue's counts and pages (applications.selectors) agree with the queue itself, for every post."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth.models import Group

from applications.models import STAGE, Investigation, Loan, Status
from applications.selectors import work_queue, work_queue_counts, work_queue_ids
from loancenter.models import User
from tests.factories import CustomerFactory, LoanFactory, SecuredProductFactory


@pytest.fixture
def book(staff, product):
    """Two loans in every state, one of each pair secured, of both marketing officers; an investigation each for
    both investigators, one of them finished."""
    secured = SecuredProductFactory()
    loans = []
    for status in Status.values:
        for officer, kind in ((staff.mkt, product), (staff.mkt2, secured)):
            loan = LoanFactory(customer=CustomerFactory(officer=officer), product=kind, marketing_officer=officer)
            Loan.objects.filter(pk=loan.pk).update(status=status, stage_reached=STAGE[status])
            loans.append(loan)
    investigating = [loan for loan in Loan.objects.filter(status=Status.INVESTIGATING)]
    Investigation.objects.create(loan=investigating[0], assignee=staff.inv, field_visit_required=False)
    finished = Investigation.objects.create(loan=investigating[1], assignee=staff.inv2, field_visit_required=False)
    Investigation.objects.filter(pk=finished.pk).update(completed_at=finished.started_at)
    return loans


def _fresh(user) -> User:
    return User.objects.get(pk=user.pk)  # its posts read again, as on the next request


def test_counts_and_pages_agree_with_the_queue_for_every_post(staff, book):
    # Several posts: their queues joined state by state (the approver's and the manager's overlap).
    many = User.objects.create_user(username="many")
    many.groups.add(*Group.objects.filter(name__in=["marketing", "investigator", "reviewer", "manager", "approver"]))
    clerk = User.objects.create_user(username="clerk-and-more")
    clerk.groups.add(*Group.objects.filter(name__in=["mortgage_clerk", "marketing", "manager", "branch_approver"]))
    for user in [*vars(staff).values(), many, clerk]:
        user = _fresh(user)
        queue = list(work_queue(user).values_list("pk", "status"))
        assert work_queue_counts(user) == dict(Counter(status for _pk, status in queue)), user.username
        assert work_queue_ids(user, offset=0, limit=100) == [pk for pk, _status in queue], user.username
        assert work_queue_ids(user, offset=1, limit=2) == [pk for pk, _status in queue][1:3], user.username
    assert work_queue_counts(_fresh(staff.inv)) == {Status.SUBMITTED: 2, Status.INVESTIGATING: 1}
    assert work_queue_counts(_fresh(staff.inv2)) == {Status.SUBMITTED: 2}  # their investigation is finished
    assert work_queue_counts(_fresh(staff.clerk)) == {Status.CONTRACT_SIGNED: 1}  # the secured one
    assert work_queue_counts(_fresh(many)) == {
        Status.SUBMITTED: 2, Status.UNDER_REVIEW: 2, Status.CONTRACT_SIGNED: 1,
        Status.COLLATERAL_REGISTERED: 2, Status.PENDING_APPROVAL: 2, Status.PENDING_BRANCH_APPROVAL: 2,
    }
    assert work_queue_counts(_fresh(staff.outsider)) == {} and work_queue_ids(_fresh(staff.outsider), 0, 50) == []


def test_a_new_post_brings_its_queue_on_the_next_request(staff, book):
    assert work_queue_counts(_fresh(staff.gen)) == {}
    staff.gen.groups.add(*staff.appr.groups.all())
    gen = _fresh(staff.gen)
    assert work_queue_counts(gen) == {Status.PENDING_APPROVAL: 2}
    assert set(work_queue_ids(gen, 0, 50)) == set(Loan.objects.filter(status=Status.PENDING_APPROVAL).values_list(
        "pk", flat=True))
    staff.gen.groups.clear()
    assert work_queue_counts(_fresh(staff.gen)) == {}
